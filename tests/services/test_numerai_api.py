"""The Numerai service against the local Numerai server, through the real numerapi client."""

from __future__ import annotations

import logging
import threading

import numerapi.base_api
import pandas as pd
import pytest

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.services.numerai_api import Account, Numerai
from tests.support.numerai import FakeNumerai, dead_url

WEBHOOK = "https://prod-01.eastus.logic.azure.com/workflows/abc/triggers/request/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers&sv=1.0&sig=SECRETSIGNATURE123"


def service(server: FakeNumerai, **kwargs: object) -> Numerai:
    return Numerai(server.public_id, server.secret_key, api_url=server.url, **kwargs)  # type: ignore[arg-type]


def submit_example(
    server: FakeNumerai, monkeypatch: pytest.MonkeyPatch, trigger: str | None
) -> None:
    """Upload the round's example predictions with numerapi, as the container would."""
    if trigger:
        monkeypatch.setenv("TRIGGER_ID", trigger)
    else:
        monkeypatch.delenv("TRIGGER_ID", raising=False)
    preds = pd.read_parquet(
        server.round.files[f"{server.round.version}/live_example_preds.parquet"]
    )
    monkeypatch.setattr(numerapi.base_api, "API_TOURNAMENT_URL", server.url)
    api = numerapi.NumerAPI(server.public_id, server.secret_key, show_progress_bars=False)
    api.upload_predictions(df=preds.reset_index(), model_id=server.model_id)


def test_check_keys_names_the_account_and_its_scopes(numerai_server: FakeNumerai) -> None:
    account = service(numerai_server).check_keys()
    assert account == Account(
        "aci_tester", ("read_user_info", "upload_submission", "read_submission_info", "stake")
    )
    assert account.missing_scopes == ()


def test_check_keys_reports_scopes_the_key_lacks(numerai_server: FakeNumerai) -> None:
    numerai_server.scopes = ("read_user_info",)
    account = service(numerai_server).check_keys()
    assert account.missing_scopes == ("upload_submission", "read_submission_info")


def test_bad_keys_are_refused_with_exit_code_2_and_no_secret_in_the_message(
    numerai_server: FakeNumerai,
) -> None:
    wrong = "A" * 64
    with pytest.raises(WizardError) as err:
        Numerai(numerai_server.public_id, wrong, api_url=numerai_server.url).check_keys()
    assert err.value.exit_code == 2
    assert err.value.code == "numerai_bad_keys"
    assert "refused the API key" in err.value.message
    assert "session is invalid" in err.value.message
    assert "API keys" in err.value.hint
    assert wrong not in str(err.value)


def test_empty_keys_fail_before_any_request_and_ignore_env_fallback(
    numerai_server: FakeNumerai, monkeypatch: pytest.MonkeyPatch
) -> None:
    # numerapi would quietly use these instead of the empty key we were given
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    with pytest.raises(WizardError) as err:
        Numerai(numerai_server.public_id, "  ", api_url=numerai_server.url).models()
    assert err.value.exit_code == 2
    assert "secret key is empty" in err.value.message
    assert numerai_server.requests == []


def test_models_lists_only_classic_tournament_models(numerai_server: FakeNumerai) -> None:
    models = service(numerai_server).models()
    assert models == {m.name: m.id for m in numerai_server.models if m.tournament == 8}
    assert "signals_model" not in models
    assert models["aci_test_model"] == numerai_server.model_id


def test_webhook_is_set_then_cleared(numerai_server: FakeNumerai) -> None:
    numerai = service(numerai_server)
    numerai.set_webhook(numerai_server.model_id, WEBHOOK)
    assert numerai_server.webhooks == {numerai_server.model_id: WEBHOOK}
    numerai.set_webhook(numerai_server.model_id, None)
    assert numerai_server.webhooks == {}


def test_webhook_for_someone_elses_model_is_a_clear_error(numerai_server: FakeNumerai) -> None:
    with pytest.raises(WizardError) as err:
        service(numerai_server).set_webhook("2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b", WEBHOOK)
    assert err.value.code == "numerai_model"
    assert err.value.exit_code == 2
    assert numerai_server.webhooks == {}


def test_trigger_fires_the_webhook_and_returns_numerais_trigger_id(
    numerai_server: FakeNumerai,
) -> None:
    called: list[tuple[str, str | None]] = []
    done = threading.Event()

    def hook(model_id: str, url: str | None) -> None:
        called.append((model_id, url))
        done.set()

    numerai_server.on_trigger = hook
    numerai = service(numerai_server)
    numerai.set_webhook(numerai_server.model_id, WEBHOOK)
    trigger_id = numerai.trigger(numerai_server.model_id)
    assert done.wait(10)
    assert called == [(numerai_server.model_id, WEBHOOK)]
    assert [t["id"] for t in numerai_server.triggers] == [trigger_id]


def test_trigger_without_a_webhook_says_so(numerai_server: FakeNumerai) -> None:
    with pytest.raises(WizardError) as err:
        service(numerai_server).trigger(numerai_server.model_id)
    assert "no compute webhook" in err.value.message
    assert numerai_server.triggers == []


def test_latest_submission_is_none_then_the_accepted_one_with_its_trigger_id(
    numerai_server: FakeNumerai, monkeypatch: pytest.MonkeyPatch
) -> None:
    numerai = service(numerai_server)
    assert numerai.latest_submission(numerai_server.model_id) is None
    submit_example(numerai_server, monkeypatch, trigger="first-trigger")
    submit_example(numerai_server, monkeypatch, trigger="second-trigger")
    latest = numerai.latest_submission(numerai_server.model_id)
    assert latest is not None
    assert latest.round == numerai_server.current_round
    assert latest.trigger_id == "second-trigger"
    assert latest.id == numerai_server.accepted[-1].id
    assert latest.inserted_at is not None and latest.inserted_at.tzinfo is not None


def test_submissions_lists_recent_rounds_newest_first(
    numerai_server: FakeNumerai, monkeypatch: pytest.MonkeyPatch
) -> None:
    numerai = service(numerai_server)
    assert numerai.submissions(numerai_server.model_id) == []
    for number in (1101, 1102, 1103):
        numerai_server.current_round = number
        submit_example(numerai_server, monkeypatch, trigger=f"t-{number}")
    found = numerai.submissions(numerai_server.model_id, limit=2)
    assert [(s.round, s.trigger_id) for s in found] == [(1103, "t-1103"), (1102, "t-1102")]
    assert all(s.inserted_at is not None and s.inserted_at.tzinfo is not None for s in found)


def test_current_round(numerai_server: FakeNumerai) -> None:
    numerai_server.current_round = 1190
    assert service(numerai_server).current_round() == 1190


def test_api_url_comes_from_the_environment_at_call_time(
    numerai_server: FakeNumerai, monkeypatch: pytest.MonkeyPatch
) -> None:
    numerai = Numerai(numerai_server.public_id, numerai_server.secret_key)
    default_url = numerapi.base_api.API_TOURNAMENT_URL
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    assert numerai.current_round() == numerai_server.current_round
    assert default_url == numerapi.base_api.API_TOURNAMENT_URL  # not left pointing at our server


def test_unreachable_server_is_a_clear_error_and_nothing_reaches_the_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root_handlers = list(logging.getLogger().handlers)
    url = dead_url()
    with pytest.raises(WizardError) as err:
        Numerai("P" * 32, "S" * 64, api_url=url).check_keys()
    assert err.value.code == "numerai_unreachable"
    assert err.value.exit_code == 1
    assert f"cannot reach Numerai at {url}" in err.value.message
    assert "Error Connecting" in err.value.message
    assert "internet connection" in err.value.hint
    out, errtext = capfd.readouterr()
    assert out == "" and errtext == ""
    assert logging.getLogger().handlers == root_handlers


def test_server_that_drops_connections_is_unreachable(numerai_server: FakeNumerai) -> None:
    numerai_server.down = True
    with pytest.raises(WizardError) as err:
        service(numerai_server).models()
    assert err.value.code == "numerai_unreachable"


def test_a_hung_server_times_out_instead_of_blocking_forever(numerai_server: FakeNumerai) -> None:
    numerai_server.stall_next("account", 5, times=2)
    with pytest.raises(WizardError) as err:
        service(numerai_server, timeout=0.5).models()
    assert err.value.code == "numerai_unreachable"
    assert "Timeout" in err.value.message or "timed out" in err.value.message


def test_one_server_error_is_retried(numerai_server: FakeNumerai) -> None:
    numerai_server.fail_next("account", "Internal server error", status=502)
    assert service(numerai_server).models()["aci_test_model"] == numerai_server.model_id
    assert [name for name, _ in numerai_server.requests] == ["account", "account"]


def test_graphql_errors_keep_numerais_message(numerai_server: FakeNumerai) -> None:
    numerai_server.fail_next("rounds", "Round data is being updated")
    with pytest.raises(WizardError) as err:
        service(numerai_server).current_round()
    assert (
        err.value.message == "Numerai answered with an error when asked to read the current round: "
        "Round data is being updated"
    )


def test_an_error_in_the_trigger_hook_reaches_the_test(numerai_server: FakeNumerai) -> None:
    def hook(model_id: str, url: str | None) -> None:
        raise RuntimeError("the container did not start")

    numerai_server.on_trigger = hook
    numerai_server.set_webhook(numerai_server.model_id, WEBHOOK)
    service(numerai_server).trigger(numerai_server.model_id)
    with pytest.raises(RuntimeError, match="did not start"):
        numerai_server.wait_hooks()
