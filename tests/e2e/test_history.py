"""`history`: every webhook call accounted for, against the local ARM and Numerai servers.

Numerai's call is the local ARM server's ``invoke_webhook`` on the real callback URL: it
runs the stored workflow, which starts the container group (or fails, as Logic Apps
would, while the API connection is not authorized) and keeps the run in the runs API.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.services.azure_auth import sign_in
from numerai_aci_wizard.services.azure_provision import Azure
from numerai_aci_wizard.settings import Secrets, Settings
from numerai_aci_wizard.store import save

RG, GROUP = "numerai-history", "numerai-history"


@pytest.fixture
def deployed(
    arm_server: Any,
    az_cli_login: Any,
    numerai_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, str]:
    """Resources deployed in api-connection mode (not authorized yet); the settings path and
    the webhook URL. Numerai's keys in the environment and the container pointed at it."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = arm_server.subscription_id
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.container_group = GROUP
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "myuser/numerai-predict:latest"
    settings.docker.username = "myuser"
    config = tmp_path / "config.toml"
    save(settings, config)
    credential = sign_in(allow_device_code=False).credential
    secrets = Secrets(numerai_server.public_id, numerai_server.secret_key, "hub-password-1")
    url = Azure(settings, credential, polling_interval=0).apply(secrets).webhook_url
    return config, url


def _call(arm_server: Any, url: str, body: dict[str, Any]) -> None:
    """Numerai calls the webhook; wait until the Logic App's run has ended."""
    status, answer = arm_server.invoke_webhook(url, body)
    assert status == 200, answer
    arm_server.wait_for_runs(RG, "startaci")
    time.sleep(0.01)  # two calls never share a start time


def _history(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["history", *args, "--config", str(config)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_call_before_the_connection_is_authorized_and_one_after_it(
    deployed: tuple[Path, str], arm_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = deployed
    code, out, err = _history(capsys, config, "--json")
    assert code == 0, err
    assert json.loads(out)["runs"] == []

    _call(arm_server, url, {"roundNumber": 1101})  # the portal sign-in is not done yet
    arm_server.authorize_connection("aci")
    _call(arm_server, url, {"roundNumber": 1102})
    arm_server.wait_for_run(GROUP)

    code, out, err = _history(capsys, config, "--json")
    assert code == 0, err
    data = json.loads(out)  # stdout holds exactly one JSON object
    newest, older = data["runs"]
    assert newest["started"] > older["started"]  # ISO-8601 UTC sorts as text
    assert newest["started"].endswith("Z") and older["started"].endswith("Z")
    assert newest["status"] == "succeeded" and newest["container_started"] is True
    assert newest["exit_code"] == 0  # the container's last run (the fake's simulated one)
    # the simulated container submitted nothing: flagged
    assert newest["no_submission"] is True and "NO SUBMISSION" in newest["detail"]
    assert older["status"] == "failed" and older["code"] == "Unauthorized"
    assert "API connection 'aci' is not authorized yet" in older["detail"]
    assert "authorize" in older["hint"] and older["container_started"] is False
    assert data["submissions"] == [] and data["submissions_known"] is True

    code, out, err = _history(capsys, config, "--limit", "1", "--json")
    assert [r["run"] for r in json.loads(out)["runs"]] == [newest["run"]]

    code, out, err = _history(capsys, config)
    assert code == 0, err
    lines = out.splitlines()
    failed = next(i for i, line in enumerate(lines) if "not started" in line)
    assert lines[failed].startswith("✗ ") and "not authorized yet" in lines[failed]
    assert lines[failed + 1].strip().startswith("what to do: authorize")
    assert lines.index(next(line for line in lines if "NO SUBMISSION" in line)) < failed


def test_history_without_numerai_keys_lists_the_runs_and_says_why_no_submissions(
    deployed: tuple[Path, str],
    arm_server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, url = deployed
    _call(arm_server, url, {})
    monkeypatch.delenv("NUMERAI_SECRET_KEY")
    code, out, err = _history(capsys, config, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [r["status"] for r in data["runs"]] == ["failed"]
    assert data["submissions_known"] is False and "NUMERAI_SECRET_KEY" in data["note"]


@pytest.mark.docker
@pytest.mark.slow
def test_a_real_container_runs_submission_appears_under_its_round(
    deployed: tuple[Path, str],
    arm_server: Any,
    numerai_server: Any,
    docker_engine: Any,
    prediction_image: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.support.arm import ContainerRun, RunOutcome

    config, url = deployed
    client = docker_engine.client()

    def run(spec: ContainerRun) -> RunOutcome:  # ACI runs the group's image, env as given
        container = client.containers.run(
            prediction_image, environment=spec.env, network_mode="host", detach=True
        )
        try:
            code = container.wait(timeout=600)["StatusCode"]
            return RunOutcome(int(code), container.logs().decode(errors="replace"))
        finally:
            container.remove(force=True)

    arm_server.run_container = run
    arm_server.authorize_connection("aci")
    numerai_server.current_round = 1101
    _call(arm_server, url, {"roundNumber": 1101})
    outcome = arm_server.wait_for_run(GROUP, timeout=600)
    assert outcome.exit_code == 0, outcome.logs
    [accepted] = numerai_server.accepted

    code, out, err = _history(capsys, config, "--json")
    assert code == 0, err
    data = json.loads(out)
    [row] = data["runs"]
    assert row["round"] == 1101 and row["exit_code"] == 0 and row["no_submission"] is False
    [mine] = row["submitted"]
    assert mine["model"] in (numerai_server.model_name, numerai_server.model_id)
    assert mine["round"] == 1101 and mine["submitted"] >= row["started"]
    assert data["submissions"] == [mine]
    assert accepted.round == 1101
    code, out, err = _history(capsys, config)
    assert "round 1101: called" in out and "exit 0" in out and "submitted" in out
