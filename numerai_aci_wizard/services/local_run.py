"""Run the prediction image on this machine's Docker engine, as ACI would run it.

Host networking, so a loopback ``NUMERAI_API_URL`` (a proxy, a test server) is reached
from inside (on Linux; where the engine runs in a VM, Docker Desktop, Colima, OrbStack, the
host network is the VM's, and such a URL is refused up front, saying so); the output is streamed line by line, masked; a cancel kills the container.
The container is removed afterwards either way.

Always linux/amd64, the one platform ACI runs: on an Apple Silicon Mac, a pull without a
platform fetches the arm64 variant of a multi-platform image and the rehearsal would
prove nothing about Azure. A local image of another platform is replaced by the
registry's amd64 one (Docker Desktop emulates amd64).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .. import redact, waits
from ..events import ErrorCode, WizardError, check_cancel
from .docker_engine import connect, engine_in_a_vm, engine_info

PLATFORM = "linux/amd64"  # what Azure Container Instances run


def local_platform(attrs: dict[str, Any]) -> str:
    """``os/architecture`` of a local image, from the engine's inspect data."""
    return f"{attrs.get('Os') or 'linux'}/{attrs.get('Architecture') or ''}"


def _ensure_image(client: Any, image: str, username: str, password: str | None) -> None:
    import docker.errors

    try:
        if local_platform(client.images.get(image).attrs) == PLATFORM:
            return
    except docker.errors.ImageNotFound:
        pass
    auth = {"username": username, "password": password} if username and password else None
    try:
        client.images.pull(image, auth_config=auth, platform=PLATFORM)
    except docker.errors.APIError as exc:
        raise WizardError(
            f"the image {image} is not on this machine and cannot be pulled: "
            f"{redact.redact(str(getattr(exc, 'explanation', None) or exc))}",
            "build it (docker.build = true) or check the image name and DOCKER_PASSWORD",
            code=ErrorCode.IMAGE_MISSING_LOCALLY,
        ) from exc


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def _loopback_reachable(client: Any, environment: dict[str, str]) -> None:
    """Where the engine runs in a VM (Docker Desktop, Colima, OrbStack) the container's
    host network is the VM's: a loopback NUMERAI_API_URL would reach the VM, not the
    server on this machine."""
    url = environment.get("NUMERAI_API_URL", "")
    if not url or not engine_in_a_vm(engine_info(client)):
        return
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _LOOPBACK:
        return
    port = f":{parts.port}" if parts.port else ""
    raise WizardError(
        f"the Docker engine runs containers in a VM: NUMERAI_API_URL={url} names this "
        f"machine's loopback ({parts.hostname}{port}), which the rehearsal's container "
        "cannot reach (its 127.0.0.1 is the VM's)",
        f"point NUMERAI_API_URL at host.docker.internal{port} instead (Docker Desktop's, "
        "Colima's and OrbStack's name for this machine), or unset it to use Numerai's own API",
        code=ErrorCode.NOT_AVAILABLE,
        exit_code=2,
    )


def run_local(
    image: str,
    environment: dict[str, str],
    *,
    on_text: Callable[[str], None],
    username: str = "",
    password: str | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Run ``image`` to its end with ``environment``; each output line (masked) goes to
    ``on_text``. Returns the exit code."""
    import docker.errors

    for name in ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY"):  # whatever it echoes stays masked
        redact.register(environment.get(name, ""))
    client = connect()
    try:
        _loopback_reachable(client, environment)
        _ensure_image(client, image, username, password)
        check_cancel(cancel)
        try:
            container = client.containers.run(
                image,
                environment=environment,
                network_mode="host",
                detach=True,
                platform=PLATFORM,
            )
        except docker.errors.APIError as exc:
            raise WizardError(
                f"Docker could not start {image}: {redact.redact(str(exc))}",
                "check that the engine can run linux/amd64 images",
                code=ErrorCode.FAILED,
            ) from exc
        stop = threading.Event()

        def killer() -> None:  # a cancel kills the run, as ACI's stop would
            while cancel is not None and not stop.wait(0.2):
                if cancel.is_set():
                    with contextlib.suppress(docker.errors.APIError):
                        container.kill()
                    return

        watcher = threading.Thread(target=killer, daemon=True)
        watcher.start()
        try:
            pending = ""
            # read in a helper thread: a silent container must not keep a Ctrl+C from landing
            for chunk in waits.iterate(container.logs(stream=True, follow=True), "run-logs"):
                pending += chunk.decode("utf-8", "replace")
                *lines, pending = pending.split("\n")
                for line in lines:
                    on_text(redact.redact(line.rstrip("\r")))
            if pending:
                on_text(redact.redact(pending))
            code = int(waits.call(lambda: container.wait(timeout=60)).get("StatusCode", 1))
        finally:
            stop.set()
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        check_cancel(cancel)
        return code
    finally:
        client.close()
