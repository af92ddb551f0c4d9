"""The presenter's words for `status`, the Done step, the farewell and a failure: each fact
said by one function, so the CLI and the wizard say it the same way."""

from __future__ import annotations

import datetime as dt

from numerai_aci_wizard import present
from numerai_aci_wizard.engines import ConnectionStatus, GroupStatus, Submission
from numerai_aci_wizard.pipeline import DeployResult, ModelStatus
from numerai_aci_wizard.plan import Plan
from numerai_aci_wizard.present import texts

NAMES = {"container_group": "numerai-predict", "resource_group": "numerai-rg", "location": "eastus"}
#: 13:04:51 in Paris in winter: 12:04:51 UTC
PARIS = dt.datetime(2026, 11, 26, 13, 4, 51, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_a_time_is_said_in_utc_and_none_is_said_by_the_caller() -> None:
    assert present.utc_time(PARIS) == "2026-11-26 12:04:51 UTC"
    assert present.utc_time(PARIS, "%Y-%m-%d") == "2026-11-26"
    assert present.utc_time(None) == ""


def test_status_of_a_missing_group_says_to_deploy_and_nothing_else() -> None:
    lines = present.status_lines(GroupStatus(exists=False), [], None, **NAMES)
    assert texts(lines) == [
        "Container group numerai-predict does not exist in numerai-rg: run deploy."
    ]
    assert lines[0].tone == "warning"


def test_status_says_the_group_its_last_run_each_model_and_the_connection() -> None:
    group = GroupStatus(True, "Succeeded", "ada1/predict:latest", 1.0, 2.5, PARIS, None, None)
    models = [
        ModelStatus("id-1", "ada", True, Submission("s", 1101, None, PARIS), checked=True),
        ModelStatus("id-2", "id-2", False, None, checked=True),
        ModelStatus("id-3", "bob", False, None, checked=False, problem="Numerai did not answer"),
    ]
    waiting = ConnectionStatus("Error", False, "https://portal", ["Open the link", "Authorize"])
    lines = present.status_lines(group, models, waiting, **NAMES)
    assert texts(lines) == [
        "Container group numerai-predict (numerai-rg, eastus)",
        "  state              Succeeded",
        "  image              ada1/predict:latest",
        "  size               1 vCPU, 2.5 GB",
        "  last run started   2026-11-26 12:04:51 UTC",
        "  last run finished  -",
        "  exit code          -",
        "  model              ada (id-1): holds the webhook; last submission round 1101"
        " (2026-11-26 12:04:51 UTC)",
        "  model              id-2: no submission yet",
        "  model              bob (id-3): submissions not read: Numerai did not answer",
        "  API connection     NOT authorized yet (Error)",
        "    1. Open the link",
        "    2. Authorize",
    ]
    assert lines[10].tone == "warning" and lines[10].lead.strip() == "API connection"
    connected = ConnectionStatus("Connected", True, "https://portal", ["Open the link"])
    said = present.status_lines(GroupStatus(True), [], connected, **NAMES)
    assert texts(said)[-1] == "  API connection     authorized (Connected)"
    assert said[-1].tone == "ok"  # and no steps under it
    assert texts(said)[4] == "  last run started   never"


# --- a deploy's outcome: Done, the farewell and `deploy` say each fact with one function ---

STEPS = ["Open the portal link", "Press Authorize, then Save"]


def _result(
    *,
    webhook_registered: bool = True,
    models: tuple[str, ...] = ("ada_model",),
    connection: ConnectionStatus | None = None,
) -> DeployResult:
    return DeployResult(
        "https://example/?sig=FAKE",
        Plan(),
        connection=connection,
        webhook_registered=webhook_registered,
        webhook_model=models[0],
        models=list(models),
    )


def test_numerai_has_the_url_or_the_user_is_told_where_to_paste_it() -> None:
    registered = present.numerai_lines(_result(webhook_registered=True))
    assert texts(registered) == ["✓ The webhook of ada_model is the Logic App's URL."]
    assert (registered[0].tone, registered[0].lead_tone) == ("ok", "ok")
    two = _result(webhook_registered=True, models=("ada_model", "ada_second"))
    assert texts(present.numerai_lines(two))[1] == (
        "One run a round submits for 2 models: ada_model, ada_second."
    )
    (unregistered,) = present.numerai_lines(_result(webhook_registered=False))
    assert str(unregistered) == (
        "! Numerai does not have the URL yet: paste it at numer.ai > Models > your model > Compute."
    )
    assert unregistered.tone == "warning"


def test_the_next_step_is_the_manual_step_or_why_there_is_none() -> None:
    waiting = ConnectionStatus("Error", False, "https://portal", STEPS)
    manual = present.next_step_lines(_result(connection=waiting))
    assert manual == present.manual_step_lines(STEPS)  # the same text as `deploy` prints
    laid_out = present.next_step_lines(_result(connection=waiting), indent="", check=False)
    assert texts(laid_out)[1:] == ["1. Open the portal link", "2. Press Authorize, then Save"]
    (identity,) = present.next_step_lines(_result(connection=None))
    assert str(identity) == (
        "✓ No manual step: the Logic App starts the container with its managed identity."
    )
    authorized = ConnectionStatus("Connected", True, "https://portal", STEPS)
    (done,) = present.next_step_lines(_result(connection=authorized))
    assert done == present.no_manual_step(managed_identity=False)
    assert str(done) == "✓ No manual step: the API connection 'aci' is authorized."
    assert done.tone == identity.tone == "ok"


def test_a_check_of_the_connection_says_connected_or_when_it_checks_again() -> None:
    connected = present.connection_check_line(ConnectionStatus("Connected", True, ""), 5)
    assert str(connected) == "✓ Connected: Numerai's calls will start the container."
    waiting = present.connection_check_line(ConnectionStatus("Error", False, ""), 2.5)
    assert str(waiting) == "Not authorized yet: checking again every 2.5 s..."
    assert (connected.tone, waiting.tone) == ("ok", "warning")
