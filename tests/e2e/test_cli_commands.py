"""The headless commands' contract, run in-process against the real local servers.

A tiny build context on the local busybox base keeps these fast; the full prediction
image is exercised by test_deploy_e2e.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import load, save

pytestmark = pytest.mark.docker

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def user(
    arm_server,
    az_cli_login,
    docker_env,
    numerai_server,
    busybox_base,
    keys_in_env,
    small_context,
    tmp_path,
):
    """Saved settings for a small image, keys in the environment; returns the config path."""
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = "numerai-cli"
    settings.azure.container_group = "numerai-cli"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = f"{docker_env.registry}/cli/predict:latest"
    settings.docker.username = docker_env.registry_username
    settings.docker.context = str(small_context)
    settings.docker.base_image = busybox_base
    config = tmp_path / "config.toml"
    save(settings, config)
    return config


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_json_is_one_object_and_changes_nothing(user: Path, arm_server, capsys) -> None:
    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    assert code == 0, err
    plan = json.loads(out)
    assert set(plan) == {"actions"}
    got = {(a["resource"], a["action"]) for a in plan["actions"]}
    assert {
        ("image", "create"),
        ("resource_group", "create"),
        ("container_group", "create"),
        ("api_connection", "create"),
        ("workflow", "create"),
        ("webhook", "create"),
    } <= got
    assert all(
        set(a) == {"resource", "name", "action", "reason"} and a["reason"] for a in plan["actions"]
    )
    assert arm_server.writes() == []


def test_deploy_without_yes_and_without_a_terminal_exits_2(user: Path, arm_server, capsys) -> None:
    code, out, err = _run(capsys, "deploy", "--config", str(user))
    assert code == 2 and "--yes" in err
    assert arm_server.writes() == []


def test_deploy_names_the_missing_secret(user: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("NUMERAI_SECRET_KEY")
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 2 and "NUMERAI_SECRET_KEY" in err and "Traceback" not in err


def test_deploy_json_then_status_and_logs(user: Path, arm_server, numerai_server, capsys) -> None:
    code, out, err = _run(capsys, "deploy", "--yes", "--json", "--config", str(user))
    assert code == 0, err
    result = json.loads(out)  # stdout holds only the JSON; progress went to stderr
    assert result["webhook_url"].startswith("https://") and result["webhook_registered"] is True
    assert numerai_server.webhooks[numerai_server.model_id] == result["webhook_url"]
    assert result["connection"]["connected"] is False and result["manual_steps"]
    image = next(a for a in result["actions"] if a["resource"] == "image")
    assert image["action"] == "create"  # what deploy did, not what a plan after it would say
    assert "-> Building and pushing" in err
    assert re.search(r"push: [\d.]+ [KMG]?B of [\d.]+ [KMG]?B", err)  # how far, as it goes
    code, out, err = _run(capsys, "status", "--json", "--config", str(user))
    assert code == 0, err
    status = json.loads(out)
    assert status["container_group"]["exists"] is True
    assert status["container_group"]["state"] in ("Stopped", "Succeeded", "Terminated")
    assert status["webhook_url"] == result["webhook_url"]  # where to get it again, any time
    code, out, err = _run(capsys, "logs", "--config", str(user))
    assert code == 0, err


def test_deploy_uses_options_but_never_writes_them_into_the_file(
    user: Path, monkeypatch, capsys
) -> None:
    before = user.read_bytes()
    monkeypatch.setenv("NUMERAI_ACI_AZURE_MEMORY_GB", "1.5")
    code, out, err = _run(capsys, "deploy", "--yes", "--cpu", "2", "--config", str(user))
    assert code == 0, err
    assert user.read_bytes() == before  # the options and variables were for this run only
    code, out, err = _run(capsys, "status", "--json", "--config", str(user))
    assert code == 0, err
    group = json.loads(out)["container_group"]
    assert (group["cpu"], group["memory_gb"]) == (2.0, 1.5)  # what Azure got: option and env


def test_deploy_prints_the_webhook_and_the_manual_step(user: Path, capsys) -> None:
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    webhook = [line for line in out.splitlines() if line.startswith("https://")]
    assert len(webhook) == 1 and "sig=" in webhook[0]
    assert "One manual step: authorize the API connection" in out
    assert "/providers/Microsoft.Web/connections/aci" in out and "Edit API connection" in out
    code, out, err = _run(capsys, "status", "--config", str(user))
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("https://")] == webhook


def test_azure_failure_is_a_clear_message_and_exit_1(user: Path, arm_server, capsys) -> None:
    arm_server.fail(
        "PUT",
        r"/resourcegroups/numerai-cli$",
        403,
        "AuthorizationFailed",
        "The client does not have authorization to perform action",
        times=10,
    )
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 1
    assert "error:" in err and "what to do:" in err and "Traceback" not in err


def test_not_signed_in_to_azure_exits_2_saying_az_login(user: Path, az_cli_login, capsys) -> None:
    az_cli_login.logout()
    code, out, err = _run(capsys, "plan", "--config", str(user))
    assert code == 2 and "az login" in err


def test_destroy_without_numerai_keys_warns_and_goes_on(
    user: Path, arm_server, numerai_server, monkeypatch, capsys
) -> None:
    assert _run(capsys, "deploy", "--yes", "--config", str(user))[0] == 0
    monkeypatch.delenv("NUMERAI_PUBLIC_ID")
    monkeypatch.delenv("NUMERAI_SECRET_KEY")
    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(user))
    assert code == 0, err
    assert "webhook was left as it is" in out
    assert numerai_server.webhooks.get(numerai_server.model_id)  # untouched
    assert arm_server.resources_in("numerai-cli") == []


def test_a_failing_build_is_reported_once_and_nothing_is_provisioned(
    user: Path, arm_server, capsys
) -> None:
    context = Path(load(user).settings.docker.context)
    (context / "Dockerfile").write_text(
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo bad model && exit 3\n"
    )
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 1
    failures = [line for line in out.splitlines() if line.startswith("xx ")]
    assert failures == [
        "xx The build failed at step 3/3 (RUN echo bad model && exit 3): the command exited with code 3."
    ]
    assert "bad model" in out  # the failing step's output is shown
    assert "error:" in err and "Traceback" not in err
    assert [w for w in arm_server.writes()] == []  # a failed image stops what depends on it


def test_deploy_on_a_terminal_shows_the_plan_and_asks_first(
    user: Path, arm_server, monkeypatch, capsys
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    code, out, err = _run(capsys, "deploy", "--config", str(user))
    assert code == 1 and "cancelled: nothing was changed" in err
    assert "create   container_group numerai-cli" in out and "per run" in out
    assert arm_server.writes() == []
    code, out, err = _run(capsys, "deploy", "--config", str(user))
    assert code == 0, err
    assert len([line for line in out.splitlines() if line.startswith("https://")]) == 1


def test_a_typo_in_the_settings_file_stops_destroy_before_azure(
    arm_server, az_cli_login, numerai_server, monkeypatch, tmp_path: Path, capsys
) -> None:
    """The blocker of issue 11: a refused name must not become the default's name."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    config = tmp_path / "config.toml"
    config.write_text(
        "# another project's settings, typed by hand\n"
        f'[numerai]\nmodel_ids = ["{numerai_server.model_id}"]\n'
        f'[azure]\nsubscription_id = "{SUBSCRIPTION}"\nlocation = "eastus"\n'
        'resource_group = "proj_rg!"\n'
        'container_group = "Proj-CG"   # upper case: ACI refuses it\n'
        f'arm_endpoint = "{arm_server.endpoint}"\n'
        '[docker]\nimage = "myuser/numerai-predict:latest"\nusername = "myuser"\n',
        encoding="utf-8",
    )
    before = config.read_bytes()
    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(config))
    assert code == 2
    assert f"{config}, line 7: azure.resource_group = \"proj_rg!\": '!' is not allowed" in err
    assert f'{config}, line 8: azure.container_group = "Proj-CG"' in err
    assert "must be lowercase" in err and "Nothing was sent to Azure" in err
    assert "until it is fixed" not in err  # the wizard's note: a command does not go on
    assert "Traceback" not in err and out == ""
    assert arm_server.requests == []  # not one request, not even a read
    assert numerai_server.requests == []  # and the webhook of another model is untouched
    assert config.read_bytes() == before
    code, out, err = _run(capsys, "deploy", "--yes", "--json", "--config", str(config))
    assert code == 2 and arm_server.requests == [] and config.read_bytes() == before


def test_bad_numbers_typed_as_options_exit_2(capsys) -> None:
    for argv in (["plan", "--run-minutes", "1e308"], ["logs", "--tail", "-1"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "a run takes between 1 and 600 minutes" in err
    assert "the number of lines must be at least 1" in err
