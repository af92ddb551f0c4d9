"""What the Docker engine's error texts mean for a user, as :class:`WizardError`.

The engine reports most failures as plain text (the last event of a build or push
stream, or an API error body), and the same text means different things at different
moments: a network error while resolving ``FROM`` is a missing base image, the same
error during a push is an unreachable registry. Each function here takes the text plus
what we know about the moment and returns one error with a specific message and a hint.
Pure (no docker import), so every mapping is unit-tested on the engine's exact wording.
"""

from __future__ import annotations

import re

from ..events import ErrorCode, WizardError

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PARSE_RE = re.compile(r"dockerfile parse error (?:on )?line (\d+):\s*(.*)", re.IGNORECASE)
_EXIT_RE = re.compile(r"returned a non-zero code:\s*(\d+)")
_STAT_RE = re.compile(r"stat ([^:]+): file does not exist")
_UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "no route to host",
    "tls handshake timeout",
    "connection reset",
    "server gave http response to https client",
    "x509:",
    "certificate",
    "timeout exceeded",
    "dial tcp",
)
_UNAUTHORIZED = (
    "unauthorized",
    "authentication required",
    "no basic auth credentials",
    "incorrect username or password",
    "requested access to the resource is denied",
    "denied:",
    "access denied",
    "insufficient_scope",
)
DISK_HINT = (
    "Free space for Docker: `docker system prune` removes stopped containers, unused images "
    "and build cache; on Docker Desktop you can also raise the disk size under "
    "Settings > Resources."
)


def clean_line(text: str) -> str:
    """A build output line without terminal colour codes (RUN steps' stderr comes wrapped in them)."""
    return _ANSI_RE.sub("", text).rstrip("\r\n")


def _has(text: str, needles: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(n in low for n in needles)


def is_unreachable(text: str) -> bool:
    return _has(text, _UNREACHABLE)


def is_unauthorized(text: str) -> bool:
    return _has(text, _UNAUTHORIZED)


def is_disk_full(text: str) -> bool:
    return "no space left on device" in text.lower()


def disk_full(text: str) -> WizardError:
    return WizardError(
        f"Docker ran out of disk space: {text.strip()}", DISK_HINT, code=ErrorCode.DISK_FULL
    )


def registry_unreachable(registry: str, text: str) -> WizardError:
    return WizardError(
        f"Cannot reach the registry {registry}: {text.strip()}",
        "Check the registry host in the image name and your network or proxy; "
        "if the registry runs on your own machine, make sure it is running.",
        code=ErrorCode.REGISTRY_UNREACHABLE,
    )


def unauthorized(registry: str, username: str, text: str, *, hub: bool, action: str) -> WizardError:
    who = f"user '{username}'" if username else "an anonymous user (no username set)"
    if hub:
        hint = (
            "Check the Docker Hub username and password. With two-factor authentication "
            "use a personal access token (hub.docker.com > Account settings > Personal "
            "access tokens, Read & Write). The image name must start with your username "
            "or an organization you can push to."
        )
    else:
        hint = (
            "Check the registry username and password or token, and that this user may "
            f"{action} this repository (for Azure Container Registry: the admin user or a "
            "token with push rights)."
        )
    return WizardError(
        f"The registry {registry} refused {who}: {text.strip()}",
        hint,
        code=ErrorCode.UNAUTHORIZED,
        field="docker_password",  # the wizard's Back lands on the password
    )


def build_api_error(text: str, dockerfile: str) -> WizardError:
    """An error the engine returned before the build started (HTTP 4xx/5xx on /build)."""
    body = text.strip()
    match = _PARSE_RE.search(body)
    if match:
        line, reason = match.group(1), match.group(2).strip().rstrip('")')
        return WizardError(
            f"The Dockerfile has an error on line {line}: {reason}",
            f"Fix line {line} of {dockerfile}, then build again.",
            code=ErrorCode.DOCKERFILE_PARSE,
        )
    if "cannot locate specified dockerfile" in body.lower():
        return WizardError(
            f"There is no Dockerfile in the build context ({dockerfile})",
            "Choose a folder that contains a Dockerfile, or leave the context empty to "
            "build the bundled image.",
            exit_code=2,
            code=ErrorCode.NO_DOCKERFILE,
        )
    if is_disk_full(body):
        return disk_full(body)
    return WizardError(
        f"Docker refused to start the build: {body}",
        "Check the Dockerfile and the build context, then build again.",
        code=ErrorCode.BUILD_FAILED,
    )


def build_step_error(
    text: str,
    *,
    step: str,
    instruction: str,
    last_lines: list[str],
    exit_code: int | None,
    base_image: str = "",
    pull_attempted: bool = False,
) -> WizardError:
    """The error event that ended a build, read in the light of the step it ended.

    ``step`` is "k/n", ``instruction`` the Dockerfile line the engine echoed for it,
    ``last_lines`` that step's last output lines.
    """
    body = clean_line(text).strip()
    where = f"step {step} ({instruction})" if step else "the build"
    keyword = instruction.split(None, 1)[0].upper() if instruction else ""
    if is_disk_full(body):
        return disk_full(body)
    code_match = _EXIT_RE.search(body)
    if exit_code is not None or code_match:
        code = exit_code if exit_code is not None else int(code_match.group(1))  # type: ignore[union-attr]
        output = "\n".join(f"  {line}" for line in last_lines) or "  (no output)"
        return WizardError(
            f"The build failed at {where}: the command exited with code {code}.\n"
            f"Last output:\n{output}",
            "Fix that step of the Dockerfile (run it by hand in the base image to see why "
            "it fails), then build again.",
            code=ErrorCode.RUN_FAILED,
        )
    if keyword in ("COPY", "ADD") or "file not found in build context" in body.lower():
        stat = _STAT_RE.search(body)
        missing = stat.group(1) if stat else "a source file"
        return WizardError(
            f"The build failed at {where}: {missing} is not in the build context ({body})",
            f"Put {missing} in the build context folder or fix the path in the "
            "Dockerfile; also check that .dockerignore does not exclude it.",
            code=ErrorCode.COPY_SOURCE_MISSING,
        )
    if keyword == "FROM":
        name = base_image or (instruction.split(None, 1)[1] if " " in instruction else "")
        if is_unreachable(body):  # not a typo: the base image's registry cannot be reached
            return WizardError(
                f"The base image {name} could not be pulled: its registry cannot be reached "
                f"({body})",
                "Check the network connection (and a proxy, if you use one). Offline, build "
                "with a base image that is already on this machine (the base image setting).",
                code=ErrorCode.REGISTRY_UNREACHABLE,
            )
        tried = "locally or pulled" if pull_attempted else "locally and could not be pulled"
        return WizardError(
            f"The base image {name} was not found {tried}: {body}",
            "Check the FROM line (or the base image setting) for typos; pull or build "
            "that image first, or log in to its registry if it is private.",
            code=ErrorCode.BASE_IMAGE_MISSING,
        )
    return WizardError(
        f"The build failed at {where}: {body}",
        "Read the build log above, fix the Dockerfile or the context, then build again.",
        code=ErrorCode.BUILD_FAILED,
    )


def push_error(
    text: str, *, registry: str, repository: str, username: str, hub: bool
) -> WizardError:
    """The error event that ended a push (the engine reports push failures as events)."""
    body = clean_line(text).strip()
    if is_disk_full(body):
        return disk_full(body)
    if "tag does not exist" in body.lower() or "does not exist locally" in body.lower():
        return WizardError(
            f"There is no local image to push: {body}",
            "Build the image first (turn building on), or fix the image name.",
            code=ErrorCode.IMAGE_MISSING_LOCALLY,
        )
    if is_unauthorized(body):
        return unauthorized(registry, username, body, hub=hub, action="push to")
    if is_unreachable(body):
        return registry_unreachable(registry, body)
    return WizardError(
        f"Pushing {repository} failed: {body}",
        "Check the registry and the credentials, then push again.",
        code=ErrorCode.PUSH_FAILED,
    )


def registry_api_error(
    text: str,
    status: int | None,
    *,
    registry: str,
    image: str,
    username: str,
    hub: bool,
    action: str = "read",
) -> WizardError:
    """An error from login or from looking up a tag in the registry (through the engine).

    ``action``: what the sign-in was for ("read", or "push to" before a push)."""
    body = text.strip()
    low = body.lower()
    if status == 401 or is_unauthorized(body):
        return unauthorized(registry, username, body, hub=hub, action=action)
    if status == 404 or "manifest unknown" in low or "not found" in low:
        return WizardError(
            f"The image {image} does not exist in the registry {registry}",
            "Build and push it (turn building on), or fix the image name and tag.",
            code=ErrorCode.TAG_MISSING,
        )
    if is_unreachable(body):
        return registry_unreachable(registry, body)
    return WizardError(
        f"The registry {registry} answered with an error: {body}",
        "Check the image name and the registry, then try again.",
        code=ErrorCode.REGISTRY_ERROR,
    )


def daemon_error(text: str, docker_host: str, platform: str) -> WizardError:
    """Why the engine cannot be reached, and what to do on this platform."""
    low = text.lower()
    where = f"DOCKER_HOST={docker_host}" if docker_host else "the default socket"
    if "permission denied" in low or "errno 13" in low or "access is denied" in low:
        if platform == "win32":
            hint = (
                "Add your Windows account to the docker-users group (in an administrator "
                "PowerShell: net localgroup docker-users $env:USERNAME /add), then sign out "
                "and back in."
            )
        elif platform == "darwin":
            hint = "Restart Docker Desktop; if that does not help, reinstall it."
        else:
            hint = (
                "Add your user to the docker group (`sudo usermod -aG docker $USER`, then log "
                "out and back in), or run the wizard with sudo."
            )
        return WizardError(
            f"Permission denied on the Docker socket ({where})",
            hint,
            exit_code=2,
            code=ErrorCode.DAEMON_PERMISSION,
        )
    if docker_host:
        hint = (
            f"DOCKER_HOST is set to {docker_host}: check that an engine listens there, "
            "or unset DOCKER_HOST to use the local one."
        )
    elif platform in ("darwin", "win32"):
        hint = "Start Docker Desktop and wait until it says the engine is running."
    else:
        hint = (
            "Start the Docker engine (`sudo systemctl start docker`), or install Docker "
            "(docs.docker.com/engine/install)."
        )
    return WizardError(
        f"Cannot reach the Docker engine at {where}: {text.strip()}",
        hint,
        exit_code=2,
        code=ErrorCode.DAEMON_UNREACHABLE,
    )


def windows_containers(operating_system: str) -> WizardError:
    """The engine runs Windows containers: the prediction image is a Linux image."""
    where = f" ({operating_system})" if operating_system else ""
    return WizardError(
        f"The Docker engine{where} is in Windows containers mode: the prediction image is a "
        "Linux image and cannot be built or run there",
        "Switch Docker Desktop to Linux containers: right-click the Docker icon in the "
        "notification area > Switch to Linux containers..., then run again.",
        exit_code=2,
        code=ErrorCode.NOT_AVAILABLE,
    )


def credential_helper_missing(program: str, config: str) -> WizardError:
    """The Docker config names a credential helper that is not installed or not on PATH."""
    return WizardError(
        f"Docker's credential helper {program} is not installed or not on PATH (named by {config})",
        "Start Docker Desktop once (it puts its helpers on PATH) or add the folder that holds "
        f'{program} to PATH; without Docker Desktop, remove the "credsStore"/"credHelpers" '
        f"entry from {config} (then docker login stores the login in that file).",
        exit_code=2,
        code=ErrorCode.NOT_AVAILABLE,
    )
