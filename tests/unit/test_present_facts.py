"""The presenter's words for `status`, the Done step, the farewell and a failure: each fact
said by one function, so the CLI and the wizard say it the same way."""

from __future__ import annotations

import datetime as dt

from numerai_aci_wizard import present
from numerai_aci_wizard.engines import ConnectionStatus, GroupStatus, Submission
from numerai_aci_wizard.pipeline import ModelStatus
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
