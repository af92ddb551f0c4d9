"""The user's Docker engine, reached one way for the build, the push and the local run."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from . import docker_errors as errors

if TYPE_CHECKING:
    import docker


def connect(timeout: int = 60) -> docker.DockerClient:
    """A client for the engine the user's environment names (DOCKER_HOST etc.), checked with a ping."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as exc:  # the docker SDK's errors and requests/urllib3's from the ping
        raise errors.daemon_error(
            str(exc), os.environ.get("DOCKER_HOST", ""), sys.platform
        ) from exc
