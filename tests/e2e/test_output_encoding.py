"""Every command's plain output in a code page that lacks the tool's marks.

On Windows, output redirected to a file or a pipe is encoded in the ANSI code page
(cp1252) in strict mode; ``PYTHONIOENCODING=cp1252`` makes Python do the same here. Each
command runs as a user runs it (the installed module in its own process, stdout to a
file) against the local ARM and Numerai servers, once with UTF-8 and once with cp1252:
the exit code is the same and what the file holds reads the same, the marks written in
ASCII.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.console import ascii_for
from numerai_aci_wizard.services.azure_auth import sign_in
from numerai_aci_wizard.services.azure_provision import Azure
from numerai_aci_wizard.settings import Secrets, Settings
from numerai_aci_wizard.store import save

ROOT = Path(__file__).resolve().parents[2]
RG = GROUP = "numerai-encoding"


@pytest.fixture
def deployed(
    arm_server: Any,
    az_cli_login: Any,
    numerai_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Deployed in api-connection mode; one webhook call failed (not authorized yet), one
    started the container. Returns the settings file."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")
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
    for body in ({"roundNumber": 1101}, {"roundNumber": 1102}):
        status, answer = arm_server.invoke_webhook(url, body)
        assert status == 200, answer
        arm_server.wait_for_runs(RG, "startaci")
        arm_server.authorize_connection("aci")
        time.sleep(0.01)  # two calls never share a start time
    arm_server.wait_for_run(GROUP)
    return config


def _run(args: list[str], encoding: str, out: Path) -> tuple[int, bytes, bytes]:
    """The command in its own process, stdout redirected to a file as `> out.txt` does."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONUTF8", None)
    with out.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "numerai_aci_wizard", *args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            timeout=120,
            check=False,
        )
    return done.returncode, out.read_bytes(), done.stderr


def _in_ascii_marks(text: str) -> str:
    return "".join(c if c.encode("cp1252", "ignore") else ascii_for(c) for c in text)


COMMANDS = [
    ["history"],
    ["status"],
    ["plan", "--no-price-lookup"],
    ["logs"],
    ["trigger", "--no-follow"],
    ["history", "--limit", "x"],  # a usage error: argparse's own message
]


def test_every_commands_plain_output_survives_a_cp1252_pipe(deployed: Path, tmp_path: Path) -> None:
    said_marks = False
    for command in COMMANDS:
        args = [*command, "--config", str(deployed)]
        code_utf8, out_utf8, err_utf8 = _run(args, "utf-8", tmp_path / "utf8.txt")
        code_cp, out_cp, err_cp = _run(args, "cp1252", tmp_path / "cp1252.txt")
        shown = f"{command}: {err_cp.decode('cp1252', 'replace')}"
        assert code_cp == code_utf8, shown
        assert b"Traceback" not in err_cp and b"unexpected" not in err_cp, shown
        assert out_cp.decode("cp1252") == _in_ascii_marks(out_utf8.decode("utf-8")), shown
        assert err_cp.decode("cp1252") == _in_ascii_marks(err_utf8.decode("utf-8")), shown
        if command == ["history"]:
            assert code_cp == 0, shown
            text = out_cp.decode("cp1252")
            # the marks a reader scans for, readable in the file
            assert "✗" in out_utf8.decode("utf-8") and "\nX " in text and "not authorized" in text
            said_marks = True
    assert said_marks
    # destroy last, once: its second run has nothing left to say the same way
    code, out, err = _run(["destroy", "--yes", "--config", str(deployed)], "cp1252", tmp_path / "d")
    assert code == 0, err.decode("cp1252", "replace")
    assert b"Removed: " in out and b"Traceback" not in err


@pytest.mark.docker
def test_deploy_plain_output_survives_a_cp1252_pipe(
    arm_server: Any,
    az_cli_login: Any,
    docker_env: Any,
    numerai_server: Any,
    busybox_base: str,
    keys_in_env: None,
    small_context: Path,
    tmp_path: Path,
) -> None:
    """deploy builds, pushes (real engine and registry) and provisions, its progress and
    its webhook line written to a cp1252 file."""
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = arm_server.subscription_id
    settings.azure.location = "eastus"
    settings.azure.resource_group = settings.azure.container_group = "numerai-cp1252"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = f"{docker_env.registry}/cp1252/predict:latest"
    settings.docker.username = docker_env.registry_username
    settings.docker.context = str(small_context)
    settings.docker.base_image = busybox_base
    config = tmp_path / "config.toml"
    save(settings, config)
    code, out, err = _run(["deploy", "--yes", "--config", str(config)], "cp1252", tmp_path / "o")
    assert code == 0, err.decode("cp1252", "replace")
    text = out.decode("cp1252")
    assert "-> Building and pushing" in text and b"Traceback" not in err
    webhook = [line for line in text.splitlines() if line.startswith("https://")]
    assert len(webhook) == 1 and "sig=" in webhook[0]
