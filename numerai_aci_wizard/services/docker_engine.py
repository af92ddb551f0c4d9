"""The user's Docker engine, reached one way for the build, the push and the local run.

Checked once per connection, before anything is sent: that it answers, that it runs
Linux containers (Docker Desktop on Windows may be switched to Windows containers, which
cannot build or run the Linux image), and that the credential helper the Docker config
names is there (Docker Desktop writes ``credsStore: desktop``/``osxkeychain``; without
its helper on PATH every build and push fails in the SDK).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

from . import docker_errors as errors

if TYPE_CHECKING:
    import docker


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine the user's environment names (DOCKER_HOST etc.), checked with a ping."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        info = client.info()
    except Exception as exc:  # the docker SDK's errors and requests/urllib3's from the ping
        raise errors.daemon_error(
            str(exc), os.environ.get("DOCKER_HOST", ""), sys.platform
        ) from exc
    try:
        if str(info.get("OSType", "linux")).lower() == "windows":
            raise errors.windows_containers(str(info.get("OperatingSystem", "")))
        missing = missing_credential_helpers()
        if missing:
            raise errors.credential_helper_missing(*missing[0])
    except BaseException:
        client.close()
        raise
    client.numerai_engine_info = info  # what the engine said, for the callers' own checks
    return client


def engine_info(client: Any) -> dict[str, Any]:
    """What ``/info`` said when :func:`connect` made ``client``."""
    found = getattr(client, "numerai_engine_info", None)
    return found if isinstance(found, dict) else {}


def engine_in_a_vm(info: dict[str, Any], platform: str = sys.platform) -> bool:
    """Whether the engine runs in a VM of its own, whose loopback is not this machine's:
    always on Windows and macOS (Docker Desktop, Colima, OrbStack, Rancher Desktop: Linux
    containers need a Linux kernel), and Docker Desktop on Linux too."""
    if platform in ("win32", "darwin"):
        return True
    return "docker desktop" in str(info.get("OperatingSystem", "")).lower()


def missing_credential_helpers() -> list[tuple[str, str]]:
    """(helper program, config file) for each credential helper the Docker config names
    that is not on PATH."""
    from docker.utils.config import find_config_file, load_general_config

    path = find_config_file()
    if not path:
        return []
    config = load_general_config(path)
    names = [config.get("credsStore") or ""]
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        names += [str(v) for v in helpers.values()]
    missing = []
    for name in dict.fromkeys(n for n in names if n):
        program = f"docker-credential-{name}"
        if shutil.which(program) is None:
            missing.append((program, str(path)))
    return missing
