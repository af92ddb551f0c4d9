"""The Docker engines of Windows and macOS users, as a fake Engine API shows them
(tests/support/docker_api.py, reached over DOCKER_HOST=tcp://127.0.0.1:PORT).

- Docker Desktop switched to Windows containers: a clear refusal before any build.
- A credential helper the Docker config names but PATH lacks: a clear message, not
  "unexpected".
- Docker Desktop's loopback is its VM's: a rehearsal pointed at this machine's
  127.0.0.1 is refused up front, saying so.
- What the build asks for (linux/amd64, host network), whatever the user's machine.
- A silent build step on the main thread still lets Ctrl+C land (Windows semantics
  simulated: the main thread deaf to SIGINT, as it is in a blocking call there).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.services import docker_image
from numerai_aci_wizard.services.docker_engine import engine_in_a_vm
from numerai_aci_wizard.services.local_run import run_local
from numerai_aci_wizard.settings import Settings
from tests.support.docker_api import FakeDockerApi

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDockerApi]:
    fake = FakeDockerApi().start()
    monkeypatch.setenv("DOCKER_HOST", fake.docker_host)
    for var in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield fake
    finally:
        fake.close()


def _settings(tmp_path: Path) -> Settings:
    context = tmp_path / "context"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    settings = Settings()
    settings.docker.image = "127.0.0.1:5000/me/predict:latest"
    settings.docker.context = str(context)
    settings.docker.pull = False
    return settings


def test_windows_containers_mode_is_refused_with_the_way_back(
    engine: FakeDockerApi, tmp_path: Path
) -> None:
    engine.os_type, engine.operating_system = "windows", "Windows Server 2022 Datacenter"
    with pytest.raises(WizardError) as info:
        docker_image.build(_settings(tmp_path))
    error = info.value
    assert error.exit_code == 2 and error.code == ErrorCode.NOT_AVAILABLE
    assert "Windows containers mode" in error.message and "Linux image" in error.message
    assert "Switch to Linux containers" in error.hint
    assert engine.seen("POST", "/build") == []  # nothing was sent to build


def test_a_build_asks_for_linux_amd64_on_the_host_network(
    engine: FakeDockerApi, tmp_path: Path
) -> None:
    image_id = docker_image.build(_settings(tmp_path))
    assert image_id == "sha256:" + "0" * 64
    (build,) = engine.seen("POST", "/build")
    assert build.query["platform"] == "linux/amd64"  # also from an Apple Silicon Mac
    assert build.query["networkmode"] == "host"
    assert build.query["t"] == "127.0.0.1:5000/me/predict:latest"


@pytest.mark.parametrize("helper", ["desktop", "osxkeychain", "wincred"])
def test_a_missing_credential_helper_says_what_to_do(
    engine: FakeDockerApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: str
) -> None:
    config = Path(os.environ["DOCKER_CONFIG"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({"auths": {}, "credsStore": helper}))
    with pytest.raises(WizardError) as info:
        docker_image.build(_settings(tmp_path))
    error = info.value
    assert error.exit_code == 2 and error.code == ErrorCode.NOT_AVAILABLE
    assert f"docker-credential-{helper} is not installed or not on PATH" in error.message
    assert str(config / "config.json") in error.message
    assert "Start Docker Desktop" in error.hint and "credsStore" in error.hint
    assert engine.seen("POST", "/build") == []

    # the helper on PATH: the build goes ahead
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / f"docker-credential-{helper}"
    program.write_text('#!/bin/sh\nif [ "$1" = list ]; then echo "{}"; fi\n')
    program.chmod(0o755)
    if sys.platform == "win32":  # pragma: no cover
        program.with_suffix(".cmd").write_text("@echo {}\r\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker_image.build(_settings(tmp_path))
    assert len(engine.seen("POST", "/build")) == 1


def test_docker_desktops_loopback_is_its_vm_and_the_rehearsal_says_so(
    engine: FakeDockerApi,
) -> None:
    engine.operating_system = "Docker Desktop"
    env = {"NUMERAI_API_URL": "http://127.0.0.1:8765/graphql", "NUMERAI_MODEL_IDS": "x"}
    with pytest.raises(WizardError) as info:
        run_local("me/predict:latest", env, on_text=lambda _: None)
    error = info.value
    assert error.exit_code == 2 and "runs containers in a VM" in error.message
    assert "127.0.0.1:8765" in error.message and "host.docker.internal:8765" in error.hint
    assert engine.seen("POST", "/containers/create") == []


def test_every_engine_on_windows_and_macos_is_in_a_vm_and_on_linux_only_docker_desktop() -> None:
    colima = {"OperatingSystem": "Ubuntu 24.04.1 LTS", "Name": "colima"}
    desktop = {"OperatingSystem": "Docker Desktop", "Name": "docker-desktop"}
    assert engine_in_a_vm(colima, "darwin") and engine_in_a_vm(desktop, "win32")
    assert engine_in_a_vm(desktop, "linux") and not engine_in_a_vm(colima, "linux")


_BUILD_ON_THE_MAIN_THREAD = """
import signal, sys, threading
from pathlib import Path
# Windows: a main thread blocked in a socket read does not see Ctrl+C until the read
# returns. Here: only this helper thread may take SIGINT; Python still runs the handler on
# the main thread, at its next chance.
threading.Thread(target=threading.Event().wait, daemon=True).start()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
from numerai_aci_wizard.services import docker_image
from numerai_aci_wizard.settings import Settings
settings = Settings()
settings.docker.image = "127.0.0.1:5000/me/predict:latest"
settings.docker.context = sys.argv[1]
settings.docker.pull = False
try:
    docker_image.build(settings)
except KeyboardInterrupt:
    print("KeyboardInterrupt landed", flush=True)
    sys.exit(130)
print("the build ended without Ctrl+C", flush=True)
"""


@pytest.mark.linux_only  # pthread_sigmask and SIGINT from another process
def test_ctrl_c_lands_while_a_build_step_is_silent(engine: FakeDockerApi, tmp_path: Path) -> None:
    engine.hang_build = True
    context = Path(_settings(tmp_path).docker.context)
    child = subprocess.Popen(
        [sys.executable, "-c", _BUILD_ON_THE_MAIN_THREAD, str(context)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert engine.build_started.wait(60), "the build never reached the engine"
        # let the client read the first line and settle into waiting for the next (a signal
        # that came before that would be seen anyway: this test would then prove nothing)
        time.sleep(0.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)  # a hang here is the failure
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "KeyboardInterrupt landed" in out


def test_the_context_sent_leaves_out_what_a_utf16_dockerignore_names(
    engine: FakeDockerApi, tmp_path: Path
) -> None:
    """Windows PowerShell 5.1's `"cache/" > .dockerignore` writes UTF-16 with a BOM, CRLF."""
    settings = _settings(tmp_path)
    context = Path(settings.docker.context)
    (context / "cache").mkdir()
    (context / "cache" / "big.bin").write_bytes(b"x" * 1000)
    (context / "run.log").write_text("noise\n")
    (context / "predict.py").write_text("print(1)\n")
    (context / ".dockerignore").write_bytes("cache/\r\n*.log\r\n".encode("utf-16"))
    docker_image.build(settings)
    (build,) = engine.seen("POST", "/build")
    with tarfile.open(fileobj=io.BytesIO(build.body)) as sent:
        names = set(sent.getnames())
    assert {"Dockerfile", "predict.py", ".dockerignore"} <= names
    assert not any(n.startswith("cache") or n.endswith(".log") for n in names), names
