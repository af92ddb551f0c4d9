"""The headless commands against an ARM stand-in that answers badly (issue 19, points 6-8):
`history` with a run whose actions answer 404, with a nextLink loop, and with a next page
on another host. The Logic App is made by the Azure engine itself (no Docker needed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.services.azure_auth import sign_in
from numerai_aci_wizard.services.azure_provision import Azure
from numerai_aci_wizard.settings import Secrets, Settings
from numerai_aci_wizard.store import save

RG = "numerai-answers"


@pytest.fixture
def config(tmp_path: Path, arm_server, az_cli_login) -> Path:
    """A deployment with two webhook calls: the first failed (connection not authorized)."""
    settings = Settings()
    settings.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    settings.azure.subscription_id = arm_server.subscription_id
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "example/predict:latest"
    settings.docker.build = False
    path = tmp_path / "config.toml"
    save(settings, path)
    azure = Azure(settings, sign_in(allow_device_code=False).credential, polling_interval=0)
    url = azure.apply(Secrets("A" * 32, "B" * 64, "")).webhook_url
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs(RG, "startaci")
    time.sleep(0.01)  # distinct start times
    arm_server.authorize_connection("aci")
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs(RG, "startaci")
    arm_server.clear_requests()
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_history_lists_every_run_and_marks_the_one_it_could_not_read(
    config: Path, arm_server, capsys
) -> None:
    arm_server.fail("GET", r"/runs/[^/]+/actions$", 404, "WorkflowRunNotFound", times=5)
    code, out, err = _run(capsys, "history", "--config", str(config))
    assert code == 0, err
    assert "No webhook calls yet" not in out
    rows = [line for line in out.splitlines() if line[:1] in "✓✗"]
    assert len(rows) == 2 and "why could not be read" in rows[1]
    code, out, err = _run(capsys, "history", "--json", "--config", str(config))
    runs = json.loads(out)["runs"]
    assert [r["unreadable"] for r in runs] == [False, True]


def test_history_stops_on_a_next_link_loop_with_a_clear_error(
    config: Path, arm_server, capsys
) -> None:
    arm_server.runs_page_size = 1
    arm_server.next_link_loop = True
    code, out, err = _run(capsys, "history", "--json", "--limit", "50", "--config", str(config))
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "azure_server_error"
    assert "pointed back at a page it had already given" in error["message"]


def test_history_refuses_a_next_page_on_another_host(config: Path, arm_server, capsys) -> None:
    arm_server.runs_page_size = 1
    arm_server.foreign_base = f"https://localhost:{arm_server.port}"
    code, out, err = _run(capsys, "history", "--json", "--config", str(config))
    assert code != 0
    error = json.loads(out)["error"]
    assert error["code"] == "azure_refused" and "localhost" in error["message"]
    assert [r for r in arm_server.requests if r.host.startswith("localhost")] == []
