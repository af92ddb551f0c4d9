"""Nothing touched that is not ours, one run at a time, secrets masked, signals honoured:
the headless commands against the real local servers (ARM, registry, dockerd, Numerai),
some as real subprocesses started together."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard import redact
from numerai_aci_wizard.cli import main
from numerai_aci_wizard.logs import log_path
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save
from tests.support import ANSWER_ONLY_WORKFLOW

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RG = "numerai-safe"


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
) -> Path:
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.container_group = "numerai-safe"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = f"{docker_env.registry}/safe/predict:latest"
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


def _cli(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "numerai_aci_wizard", *args],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


# --- one run at a time ----------------------------------------------------------------


def test_two_deploys_started_together_one_runs_the_other_is_refused(user: Path, arm_server) -> None:
    arm_server.lro_seconds = 2  # the winner holds the lock a while after the image
    runs = [_cli("deploy", "--yes", "--config", str(user)) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    winner = next(p for p, r in zip(runs, results, strict=True) if r[0] == 0)
    refused = next(r for r in results if r[0] == 2)
    assert f"PID {winner.pid}" in refused[2] and "'deploy'" in refused[2]
    assert "one run at a time" in refused[2] and "Traceback" not in refused[2]
    assert "-> " not in refused[1]  # refused before its first step
    # the refused run made no write of its own: one group PUT in all
    puts = [w for w in arm_server.writes() if w.method == "PUT" and "containerGroups" in w.path]
    assert len(puts) == 1


def test_json_refusal_names_the_code(user: Path, capsys) -> None:
    from tests.support.lock_holder import lock_held_elsewhere

    with lock_held_elsewhere(SUBSCRIPTION, RG, "trigger") as pid:
        code, out, err = _run(capsys, "destroy", "--yes", "--json", "--config", str(user))
    assert code == 2
    error = json.loads(out)["error"]
    assert error["code"] == "locked" and f"PID {pid}" in error["message"]


# --- signals --------------------------------------------------------------------------


def test_sigterm_stops_at_a_safe_point_and_exits_143(user: Path, arm_server) -> None:
    # ARM throttles the first read for a long while: the command sits in the SDK's wait
    arm_server.fail(
        "GET", rf"/resourcegroups/{RG}$", 429, "TooManyRequests", headers={"Retry-After": "600"}
    )
    proc = _cli("plan", "--config", str(user))
    for _ in range(600):
        if any(r.path.lower().endswith(f"/resourcegroups/{RG}") for r in arm_server.requests):
            break
        if proc.poll() is not None:
            pytest.fail(f"plan ended early: {proc.communicate()}")
        time.sleep(0.1)
    time.sleep(0.3)  # into the wait
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)  # far less than the 600 s Retry-After
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM): stopped at a safe point" in err
    assert "Traceback" not in err
    assert arm_server.writes() == []


# --- only what is ours ------------------------------------------------------------------


def _foreign_logic_app(arm_server, name: str = "startaci") -> None:
    from azure.identity import AzureCliCredential
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    cred, endpoint = AzureCliCredential(), arm_server.endpoint
    ResourceManagementClient(
        cred, SUBSCRIPTION, base_url=endpoint
    ).resource_groups.create_or_update(RG, {"location": "eastus"})
    LogicManagementClient(cred, SUBSCRIPTION, base_url=endpoint).workflows.create_or_update(
        RG,
        name,
        {
            "location": "eastus",
            "properties": {"definition": ANSWER_ONLY_WORKFLOW},
        },
    )
    arm_server.clear_requests()


def test_a_foreign_logic_app_stops_destroy_and_deploy_until_adopted(
    user: Path, arm_server, numerai_server, capsys
) -> None:
    _foreign_logic_app(arm_server)
    numerai_server.set_webhook(numerai_server.model_id, "https://their.example/hook")
    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    assert code == 0, err
    wf = next(a for a in json.loads(out)["actions"] if a["resource"] == "workflow")
    assert wf["action"] == "keep" and wf["reason"].startswith("exists, not created by this tool")

    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(user))
    assert code == 2 and "not created by this tool" in err and "Traceback" not in err
    assert arm_server.writes() == []
    assert numerai_server.webhooks[numerai_server.model_id] == "https://their.example/hook"

    code, out, err = _run(capsys, "deploy", "--yes", "--json", "--config", str(user))
    assert code == 2 and json.loads(out)["error"]["code"] == "not_ours"
    assert "-> Build" not in err and "-> Push" not in err  # refused before any image work
    assert not [w for w in arm_server.writes() if "workflows" in w.path]
    assert numerai_server.webhooks[numerai_server.model_id] == "https://their.example/hook"

    code, out, err = _run(capsys, "deploy", "--yes", "--adopt", "--config", str(user))
    assert code == 0, err
    [wf_put] = [w for w in arm_server.writes() if w.method == "PUT" and "workflows/" in w.path]
    assert wf_put.body["tags"] == {"managed-by": "numerai-aci-wizard"}

    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(user))
    assert code == 0, err
    removed = next(line for line in out.splitlines() if line.startswith("Removed: "))
    assert "workflow startaci" in removed and "container_group numerai-safe" in removed
    assert "resource_group" not in removed  # theirs: kept, and said so apart
    assert f"Kept: resource_group {RG} (not created by this tool)" in out


# --- limits, bounds ---------------------------------------------------------------------


def test_plan_checks_the_regions_limits_as_deploy_does(user: Path, arm_server, capsys) -> None:
    arm_server.max_cpu = 2
    code, out, err = _run(capsys, "plan", "--cpu", "3", "--config", str(user))
    assert code == 2 and "Traceback" not in err
    assert "2" in err and "cpu" in err.lower()
    code, out, err = _run(capsys, "plan", "--json", "--cpu", "3", "--config", str(user))
    assert code == 2 and json.loads(out)["error"]["code"] == "bad_settings"
    assert arm_server.writes() == []


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--run-minutes", "1e308"),
        ("plan", "--run-minutes", "inf"),
        ("logs", "--tail", "-1"),
        ("logs", "--tail", "0"),
        ("trigger", "--timeout", "-5"),
        ("plan", "--image", "registry.example:70000/me/predict:latest"),
    ],
)
def test_values_a_user_types_are_bounded(user: Path, arm_server, capsys, args) -> None:
    command, *rest = args
    try:
        code, out, err = _run(capsys, command, "--config", str(user), *rest)
    except SystemExit as exc:  # argparse's own refusal
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.strip()
    assert arm_server.writes() == []


# --- where the token goes ---------------------------------------------------------------


def test_an_arm_endpoint_from_the_environment_is_used_named_once_and_never_saved(
    user: Path, arm_server, monkeypatch, capsys
) -> None:
    lines = user.read_text().splitlines(keepends=True)
    user.write_text("".join(line for line in lines if not line.startswith("arm_endpoint")))
    before = user.read_bytes()
    assert arm_server.endpoint not in before.decode()
    monkeypatch.setenv("AZURE_RESOURCE_MANAGER_ENDPOINT", arm_server.endpoint)
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    assert err.count("note: talking to Azure Resource Manager at") == 1
    assert arm_server.endpoint.rstrip("/") in err
    assert user.read_bytes() == before  # deploy saved the answers, but not this one
    assert arm_server.endpoint not in user.read_text()


# --- redaction everywhere ---------------------------------------------------------------


def test_logs_mask_what_the_container_echoed(
    user: Path, arm_server, numerai_server, capsys
) -> None:
    from tests.support.arm import RunOutcome

    secret = numerai_server.secret_key
    b64 = base64.b64encode(f"user:{secret}".encode()).decode()

    def echo(run: Any) -> RunOutcome:
        return RunOutcome(0, f"key={run.env['NUMERAI_SECRET_KEY']}\nauth {b64}\ndone\n")

    arm_server.run_container = echo
    code, out, err = _run(
        capsys, "deploy", "--yes", "--no-stop-after-create", "--config", str(user)
    )
    assert code == 0, err
    arm_server.wait_for_run("numerai-safe")
    redact.forget_all()  # as in a new process: only the environment tells what is secret
    for extra in ((), ("--json",), ("--tail", "5")):
        code, out, err = _run(capsys, "logs", "--config", str(user), *extra)
        assert code == 0, err
        assert "done" in out and "key=***" in out
        assert secret not in out + err and b64 not in out + err


def test_the_log_file_tells_the_story_privately(user: Path, numerai_server, capsys) -> None:
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    path = log_path()
    text = path.read_text()
    assert "[provision] Provisioning Azure" in text and "[webhook]" in text
    assert "command deploy started" in text
    assert numerai_server.secret_key not in text and "sig=" not in text.replace("sig=***", "")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_a_failed_stop_after_deploy_is_planned_and_done_by_the_next_deploy(
    user: Path, arm_server, capsys
) -> None:
    from tests.support.arm import RunOutcome

    def long_run(run: Any) -> RunOutcome:
        run.halted.wait(120)  # a prediction takes minutes; a stop ends it
        return RunOutcome(0, "stopped\n")

    arm_server.run_container = long_run
    stop = r"/containerGroups/numerai-safe/stop$"
    # the stop's first try and the SDK's retries: all throttled
    arm_server.fail("POST", stop, 429, "TooManyRequests", times=5, headers={"Retry-After": "0"})
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    assert "could not stop numerai-safe after deploying" in out
    code, out, err = _run(capsys, "status", "--json", "--config", str(user))
    assert json.loads(out)["container_group"]["state"] == "Running"

    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    group = next(a for a in json.loads(out)["actions"] if a["resource"] == "container_group")
    assert (group["action"], group["reason"]) == (
        "update",
        "stop the run left from the last deploy",
    )
    arm_server.clear_requests()
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    assert [w.method for w in arm_server.writes() if "containerGroups" in w.path] == ["POST"]
    code, out, err = _run(capsys, "status", "--json", "--config", str(user))
    assert json.loads(out)["container_group"]["state"] != "Running"
    # and it is not stopped again: nothing is pending any more
    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    group = next(a for a in json.loads(out)["actions"] if a["resource"] == "container_group")
    assert group["action"] == "keep"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_deploy_interrupted_during_the_create_leaves_a_stop_for_the_next_run(
    sig: signal.Signals, user: Path, arm_server, capsys
) -> None:
    """Restart policy Never runs the group once created: the stop that follows is pending from
    before the create is sent, so an interrupt there (Ctrl+C, SIGTERM, a kill) is repaired by
    the next run, not left running (billing)."""
    from tests.support.arm import RunOutcome

    def long_run(run: Any) -> RunOutcome:
        run.halted.wait(120)  # a prediction takes minutes; a stop ends it
        return RunOutcome(0, "stopped\n")

    arm_server.run_container = long_run
    arm_server.lro_seconds = 2  # the create is still going when the signal lands
    proc = _cli("deploy", "--yes", "--config", str(user))
    put = r"/containergroups/numerai-safe"
    for _ in range(1200):
        if any(r.method == "PUT" and r.path.lower().endswith(put) for r in arm_server.requests):
            break
        if proc.poll() is not None:
            pytest.fail(f"deploy ended early: {proc.communicate()}")
        time.sleep(0.1)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (130, 143, -signal.SIGKILL), err
    for _ in range(300):  # the create goes through on Azure's side: the group runs
        if arm_server.group_state("numerai-safe") == "Running":
            break
        time.sleep(0.1)
    assert arm_server.group_state("numerai-safe") == "Running"

    arm_server.lro_seconds = 0
    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    assert code == 0, err
    group = next(a for a in json.loads(out)["actions"] if a["resource"] == "container_group")
    assert (group["action"], group["reason"]) == (
        "update",
        "stop the run left from an interrupted deploy",
    )
    arm_server.clear_requests()
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(user))
    assert code == 0, err
    assert [w.method for w in arm_server.writes() if "containerGroups" in w.path] == ["POST"]
    assert arm_server.group_state("numerai-safe") != "Running"
    code, out, err = _run(capsys, "plan", "--json", "--config", str(user))
    group = next(a for a in json.loads(out)["actions"] if a["resource"] == "container_group")
    assert group["action"] == "keep"  # done: nothing pending any more
