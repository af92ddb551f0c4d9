"""The whole path, as a user runs it: the installed command against real local parts.

`deploy` talks to the local ARM server (real Azure SDK clients), builds and pushes the
bundled image with a real dockerd to a real registry, and registers the webhook with
the local Numerai server. `trigger` asks Numerai to call the webhook; the test's
Numerai hook plays the Logic App (it starts the container group through ARM), and the
ARM server runs the pushed image with the real dockerd, pulled with the registry
credentials the container group holds, so the prediction really lands at Numerai.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RG, GROUP, LOGIC_APP = "numerai-e2e", "numerai-e2e-predict", "startaci"


class Runs:
    """Every command run of the test, so the end can grep all output for secrets."""

    def __init__(self, env: dict[str, str], config: Path) -> None:
        self.env = env
        self.config = config
        self.outputs: list[tuple[list[str], str, str]] = []

    def __call__(
        self, *args: str, check: int | None = 0, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "numerai_aci_wizard", *args, "--config", str(self.config)]
        res = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        self.outputs.append((list(args), res.stdout, res.stderr))
        if check is not None:
            assert res.returncode == check, (
                f"{args} exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
            )
        return res

    def start(self, *args: str) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "numerai_aci_wizard", *args, "--config", str(self.config)]
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _container_runner(engine: Any, arm: Any):
    """Run a started container group's image like ACI: pull with its registry credentials, then run."""
    from tests.support.arm import RunOutcome

    def run(spec: Any) -> Any:
        client = engine.client()
        creds = spec.registry_credentials[0] if spec.registry_credentials else None
        auth = {"username": creds["username"], "password": creds["password"]} if creds else None
        client.images.pull(spec.image, auth_config=auth)
        container = client.containers.run(
            spec.image,
            environment=spec.env,
            network_mode="host",
            detach=True,
            name=f"aci-{spec.group}-{time.time_ns()}",
        )
        try:
            deadline = time.monotonic() + 600
            while container.status != "exited" and time.monotonic() < deadline:
                if spec.halted.wait(0.5):  # ACI stopped or replaced the group: kill, like ACI
                    with contextlib.suppress(docker.errors.APIError):  # it may just have exited
                        container.kill()
                    break
                container.reload()
            container.reload()
            code = container.attrs["State"]["ExitCode"]
            logs = container.logs().decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        return RunOutcome(exit_code=int(code), logs=logs)

    return run


def _logic_app(arm: Any, token: str):
    """Numerai calls the webhook: the local ARM server runs the deployed workflow as Logic
    Apps would (its Response first, then its start action), so the definition is proven."""

    def on_trigger(model_id: str, webhook_url: str | None) -> None:
        assert webhook_url and webhook_url.startswith("https://") and "sig=" in webhook_url
        status, body = arm.invoke_webhook(webhook_url)
        assert status == 200, body

    return on_trigger


@pytest.fixture
def world(
    arm_server, az_cli_login, docker_env, numerai_server, python_base_image, tmp_path, monkeypatch
):
    """A user's machine: az logged in, Docker running, keys in the environment, settings saved."""
    engine = docker_env
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.numerai.model_name = numerai_server.model_name
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.container_group = GROUP
    settings.azure.memory_gb = 2.0
    settings.azure.cpu = 1.0
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = f"{engine.registry}/numerai/predict:latest"
    settings.docker.username = engine.registry_username
    settings.docker.base_image = python_base_image
    config = tmp_path / "config.toml"
    save(settings, config)
    env = {
        **os.environ,
        "NUMERAI_PUBLIC_ID": numerai_server.public_id,
        "NUMERAI_SECRET_KEY": numerai_server.secret_key,
        "DOCKER_PASSWORD": engine.registry_password,
        "NUMERAI_API_URL": numerai_server.url,
        "NUMERAI_ACI_OFFLINE_PRICES": "1",
        "PYTHONUNBUFFERED": "1",
    }
    arm_server.run_container = _container_runner(engine, arm_server)
    numerai_server.on_trigger = _logic_app(arm_server, az_cli_login.token)
    return Runs(env, config)


def _webhook_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("https://") and "sig=" in line]
    assert len(lines) == 1, stdout
    return lines[0]


def _secrets(world: Runs, numerai_server: Any, engine: Any) -> list[str]:
    return [numerai_server.public_id, numerai_server.secret_key, engine.registry_password]


def _all_files_text(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_size < 5_000_000:
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


def test_deploy_trigger_resize_destroy(
    world: Runs, arm_server, numerai_server, docker_env, tmp_path
) -> None:
    # 1. First deploy: everything is created and the webhook is registered.
    first = world("deploy", "--yes")
    url = _webhook_line(first.stdout)
    assert numerai_server.webhooks[numerai_server.model_id] == url
    group = arm_server.container_group(RG, GROUP)
    assert (
        group["properties"]["restartPolicy"] == "Never" and "ipAddress" not in group["properties"]
    )
    assert "Authorize the API connection" in first.stdout or "authorize" in first.stdout.lower()

    # 2. A re-run with nothing changed writes nothing and prints the same URL.
    arm_server.clear_requests()
    again = world("deploy", "--yes")
    assert _webhook_line(again.stdout) == url
    assert arm_server.writes() == []
    assert "Nothing changed" in again.stdout

    # 3. trigger: refused while the API connection is not authorized (the Logic App could not
    # start anything); once the user authorized it in the portal, Numerai calls the webhook, the
    # container runs the image and a valid submission lands.
    refused = world("trigger", check=1)
    assert "not authorized yet" in refused.stderr and "Authorize" in refused.stderr
    assert numerai_server.triggers == []
    arm_server.authorize_connection("aci")
    assert "authorized (Connected)" in world("status").stdout
    before = len(numerai_server.accepted)
    world("trigger", "--timeout", "900")
    numerai_server.wait_hooks()
    assert len(numerai_server.accepted) == before + 1
    assert world("status", "--json").stdout
    status = json.loads(world("status", "--json").stdout)
    assert status["container_group"]["exit_code"] == 0

    # 4. A memory change plans exactly one recreate; deploy writes only the container group.
    plan = json.loads(world("plan", "--json", "--memory", "3").stdout)
    changes = [a for a in plan["actions"] if a["action"] != "keep"]
    assert [(a["resource"], a["action"]) for a in changes] == [("container_group", "recreate")]
    assert "memory" in changes[0]["reason"]
    arm_server.clear_requests()
    resized = world("deploy", "--yes", "--memory", "3")
    assert _webhook_line(resized.stdout) == url
    writes = arm_server.writes()
    assert {w.path.lower().split("/containergroups/")[-1].split("/")[0] for w in writes} == {GROUP}
    assert [w.method for w in writes if not w.path.lower().endswith("/stop")] == ["DELETE", "PUT"]
    assert (
        arm_server.container_group(RG, GROUP)["properties"]["containers"][0]["properties"][
            "resources"
        ]["requests"]["memoryInGB"]
        == 3.0
    )

    # 5. destroy leaves nothing and clears the webhook.
    gone = world("destroy", "--yes")
    assert numerai_server.webhooks.get(numerai_server.model_id) in (None, "")
    assert arm_server.resources_in(RG) == [] and not arm_server.resource_group_exists(RG)
    assert "Removed" in gone.stdout

    # Secrets appear nowhere; the webhook's sig only where the URL is given whole: deploy's
    # and status's URL line, and the webhook_url of status --json.
    secrets = _secrets(world, numerai_server, docker_env)
    sig = re.search(r"sig=([^&\s]+)", url).group(1)
    everything = "\n".join(out + err for _, out, err in world.outputs)
    files = _all_files_text(Path(os.environ["XDG_CONFIG_HOME"]).parent) + _all_files_text(tmp_path)
    for secret in secrets:
        assert secret not in everything and secret not in files
    sig_lines = [
        line for _, out, err in world.outputs for line in (out + err).splitlines() if sig in line
    ]

    def gives_the_url(line: str) -> bool:
        if line == url:
            return True
        try:
            return json.loads(line).get("webhook_url") == url
        except ValueError:
            return False

    assert sig_lines and all(gives_the_url(line) for line in sig_lines)
    assert sig not in files
    history = (
        docker_env.client().images.get(f"{docker_env.registry}/numerai/predict:latest").history()
    )
    layers = json.dumps(history)
    for secret in secrets:
        assert secret not in layers


def test_interrupted_deploy_converges(world: Runs, arm_server, numerai_server) -> None:
    arm_server.lro_seconds = 3
    proc = world.start("deploy", "--yes")
    deadline = time.monotonic() + 900
    while not any(
        r.method == "PUT" and "/containergroups/" in r.path.lower() for r in arm_server.requests
    ):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    arm_server.lro_seconds = 0
    done = world("deploy", "--yes")
    url = _webhook_line(done.stdout)
    assert numerai_server.webhooks[numerai_server.model_id] == url
    interrupted = arm_server.snapshot()
    # An uninterrupted run from scratch ends in the same state.
    world("destroy", "--yes")
    world("deploy", "--yes")
    assert arm_server.snapshot() == interrupted
