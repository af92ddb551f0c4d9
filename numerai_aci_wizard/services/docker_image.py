"""Build the prediction image and push it to the user's registry, with live progress.

What the original BuildPushDocker.ps1 did (``docker build --pull --rm`` then
``docker push``) through the docker SDK, so the wizard and the CLI can show every build
line, a push progress bar in bytes, and an error that says what to do. The registry
password only ever lives in memory: login and push send it in the request, and the
docker config file is never written. A re-run with an unchanged build context whose
tag is still in the registry skips the build and the push.

Events: ``build`` and ``push`` steps (StepStarted, LogLine per output line, Progress
"Step k/n" for the build and bytes for the push, StepFinished with the image id or the
digest). A failure emits StepFailed for its step and raises :class:`WizardError`; a
cancel raises :class:`Cancelled`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import stat
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .. import redact, waits
from ..engines import ImageResult, PushedImage
from ..events import (
    Cancelled,
    Emit,
    ErrorCode,
    LogLine,
    Progress,
    Step,
    StepFinished,
    StepStarted,
    WizardError,
    check_cancel,
    fail,
    ignore,
    step,
)
from ..image_ref import ImageRef, ImageRefError, parse_image_ref
from ..textfiles import decode
from . import docker_errors as errors
from . import docker_hub, registry_api
from .docker_engine import connect
from .local_run import run_local as run_local  # the image engine's rehearsal

if TYPE_CHECKING:
    import docker
    import requests

    from ..settings import Settings

PLATFORM = "linux/amd64"  # Azure Container Instances run amd64, also for users on arm64 Macs
BUILD_ARG_BASE = "BASE_IMAGE"
_STREAM_TIMEOUT = 600  # seconds without a byte on a push stream before giving up
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_LAST_LINES = 15


# --- engine ------------------------------------------------------------------------------


def check_daemon() -> str:
    """The engine's version, or WizardError saying how to get an engine we can talk to."""
    client = connect(timeout=15)
    try:
        return str(client.version().get("Version", "unknown"))
    finally:
        client.close()


def check_login(settings: Settings, password: str) -> str:
    """Sign in to the image's registry through the engine, before anything is built: a wrong
    password found only at the push wastes the minutes of the build. On Docker Hub the
    repository's visibility is settled first (its API checks the same credentials): models
    that would go public are refused before any sign-in or build."""
    ref = _parse(settings.docker.image)
    redact.register(password)
    said: list[str] = []
    check_visibility(
        settings,
        password,
        emit=lambda event: said.append(event.text) if isinstance(event, LogLine) else None,
    )
    client = connect(timeout=30)
    try:
        _login(client, ref, settings, password)
    finally:
        client.close()
    return "; ".join([f"{settings.docker.username.strip()} may sign in to {ref.registry}", *said])


# --- build context -----------------------------------------------------------------------


def _bundled_candidates() -> list[Path]:
    package = Path(__file__).resolve().parent.parent
    return [package / "bundled_image", package.parent / "image"]


def resolve_context(settings: Settings) -> Path:
    """The folder to build: the user's ``docker.context``, else the image/ that ships with the tool."""
    chosen = settings.docker.context.strip()
    if chosen:
        path = Path(chosen).expanduser().resolve()
        if not path.is_dir():
            raise WizardError(
                f"The build context {path} is not a folder",
                "Set the build context to a folder that contains a Dockerfile, or leave it "
                "empty to build the bundled image.",
                exit_code=2,
                code=ErrorCode.CONTEXT_MISSING,
            )
        if not (path / "Dockerfile").is_file():
            raise WizardError(
                f"There is no Dockerfile in the build context {path}",
                "Add a Dockerfile to that folder, or leave the context empty to build the "
                "bundled image.",
                exit_code=2,
                code=ErrorCode.NO_DOCKERFILE,
            )
        return path
    for candidate in _bundled_candidates():
        if (candidate / "Dockerfile").is_file():
            return candidate
    raise WizardError(
        "The bundled image folder is missing from this installation",
        "Reinstall numerai-aci-wizard, or set the build context to your own folder with a "
        "Dockerfile.",
        exit_code=2,
        code=ErrorCode.CONTEXT_MISSING,
    )


def _dockerignore_patterns(context: Path) -> list[str]:
    """.dockerignore's patterns, in whichever encoding the file is (the hash and the
    context sent to the engine both use these: the SDK's own reading knows only the
    locale's encoding, which a UTF-16 file crashes and a BOM'd one silently defeats)."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in decode(path.read_bytes()).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _context_tar(context: Path) -> IO[bytes]:
    """The build context as the engine gets it: a tar without what .dockerignore excludes."""
    from docker.utils.build import tar

    # the context's own Dockerfile (no dockerfile argument): as the SDK's path= build does
    made: IO[bytes] = tar(str(context), exclude=_dockerignore_patterns(context))
    return made


def context_hash(
    context: Path, *, base_image: str = "", build_args: dict[str, str] | None = None
) -> str:
    """A content hash of what ``docker build`` would be sent (``.dockerignore`` honoured).

    Names, contents, executable bits and symlink targets count; timestamps do not, so a
    fresh checkout of the same files hashes the same. The build args (``Settings.build_args``:
    the base image, which the Python setting picks, and the data version; ``base_image`` alone
    as before) are mixed in because they change the image as much as a file does.
    """
    from docker.utils.build import exclude_paths

    context = Path(context)
    digest = hashlib.sha256()
    for rel in sorted(exclude_paths(str(context), _dockerignore_patterns(context))):
        path = context / rel
        name = rel.replace(os.sep, "/")
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            digest.update(f"L {name} -> {os.readlink(path)}\n".encode())
        elif stat.S_ISDIR(info.st_mode):
            digest.update(f"D {name}\n".encode())
        elif stat.S_ISREG(info.st_mode):
            content = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    content.update(block)
            executable = "x" if info.st_mode & 0o111 else "-"
            digest.update(f"F {name} {executable} {content.hexdigest()}\n".encode())
    args = dict(build_args or {})
    if base_image:
        args.setdefault(BUILD_ARG_BASE, base_image)
    for name in sorted(args, key=lambda n: (n != BUILD_ARG_BASE, n)):
        digest.update(f"A {name}={args[name]}\n".encode())
    return "sha256:" + digest.hexdigest()


# --- cancellation ------------------------------------------------------------------------


@contextlib.contextmanager
def _cancel_streams(client: docker.DockerClient, cancel: threading.Event | None) -> Iterator[None]:
    """While active, a set ``cancel`` shuts down the engine's open response streams.

    Reading a build stream blocks for as long as a RUN step is silent, so checking the
    event between lines is not prompt. Shutting the socket down wakes the reader at
    once, and the engine stops the build when its client goes away.
    """
    if cancel is None:
        yield
        return
    responses: list[requests.Response] = []

    def remember(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        responses.append(response)
        return response

    api = client.api
    api.hooks["response"].append(remember)
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            if cancel.wait(0.1):
                for response in list(responses):
                    _shutdown(response)
                return

    watcher = threading.Thread(target=watch, name="docker-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        waits.join(watcher)
        with contextlib.suppress(ValueError):
            api.hooks["response"].remove(remember)
        for response in responses:
            with contextlib.suppress(Exception):
                response.close()


def _shutdown(response: requests.Response) -> None:
    raw = response.raw
    candidates = [
        getattr(getattr(raw, "_connection", None), "sock", None),
        getattr(
            getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None
        ),
    ]
    for sock in candidates:
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return
    with contextlib.suppress(Exception):
        response.close()


def _events(
    stream: Iterator[dict[str, Any]], cancel: threading.Event | None
) -> Iterator[dict[str, Any]]:
    """The engine's decoded events, ending in Cancelled as soon as ``cancel`` is set."""
    try:
        # read in a helper thread: a silent RUN step must not keep a Ctrl+C from landing
        for event in waits.iterate(stream, "docker-stream"):
            check_cancel(cancel)
            yield event
    except Cancelled:
        raise
    except Exception:
        if cancel is not None and cancel.is_set():
            raise Cancelled() from None
        raise
    check_cancel(cancel)


# --- build -------------------------------------------------------------------------------


def _parse(image: str) -> ImageRef:
    try:
        ref = parse_image_ref(image)
    except ImageRefError as exc:
        raise WizardError(
            f"The image name '{image}' is invalid: {exc}",
            "Write it as registry/path:tag, e.g. myuser/numerai-predict:latest.",
            exit_code=2,
            code=ErrorCode.BAD_IMAGE,
        ) from exc
    if ref.digest:
        raise WizardError(
            f"The image name '{image}' pins a digest, which cannot be built or pushed",
            "Remove the @sha256:... part and use a tag (e.g. :latest).",
            exit_code=2,
            code=ErrorCode.BAD_IMAGE,
        )
    return ref


class _BuildRun:
    """One pass over a build stream: log lines, Step k/n progress, the step that failed."""

    def __init__(self, emit: Emit, progress_floor: int) -> None:
        self.emit = emit
        self.partial = ""
        self.step = ""
        self.instruction = ""
        self.last_lines: deque[str] = deque(maxlen=_LAST_LINES)
        self.image_id = ""
        self.progress = progress_floor
        self.total = 0
        self.error: dict[str, Any] | None = None
        #: a retry (after a pull that failed) runs the steps up to here again: not shown twice
        self.shown_upto = progress_floor
        self.current = 0
        #: the Dockerfile's ARG defaults, to show ``FROM ${BASE_IMAGE}`` as the image it means
        self.args: dict[str, str] = {}

    def expanded(self, instruction: str, buildargs: dict[str, str] | None) -> str:
        """``FROM ${BASE_IMAGE}`` as the build saw it: the build arg, else the ARG default."""
        values = {**self.args, **(buildargs or {})}
        for name, value in values.items():
            instruction = instruction.replace("${" + name + "}", value)
            instruction = re.sub(rf"\${name}\b", value.replace("\\", r"\\"), instruction)
        return instruction

    def feed(self, event: dict[str, Any]) -> None:
        if "stream" in event:
            self.partial += str(event["stream"])
            *lines, self.partial = self.partial.split("\n")
            for line in lines:
                self._line(line)
        elif "aux" in event and isinstance(event["aux"], dict) and event["aux"].get("ID"):
            self.image_id = str(event["aux"]["ID"])
        elif "errorDetail" in event or "error" in event:
            self.error = event
        elif "status" in event:  # pulling the base image
            status = " ".join(str(event[k]) for k in ("id", "status", "progress") if event.get(k))
            self.emit(LogLine(step="build", text=redact.redact(status), level="debug"))

    def flush(self) -> None:
        if self.partial:
            self._line(self.partial)
            self.partial = ""

    def _line(self, raw: str) -> None:
        line = errors.clean_line(raw)
        if not line.strip():
            return
        match = _STEP_RE.match(line)
        if match:
            self.current = int(match.group(1))
        if self.current > self.shown_upto or not self.shown_upto:
            self.emit(LogLine(step="build", text=redact.redact(line)))
        if match:
            done, total = int(match.group(1)), int(match.group(2))
            self.step, self.instruction = f"{done}/{total}", match.group(3).strip()
            arg = re.match(r"ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)", self.instruction)
            if arg:
                self.args[arg.group(1)] = arg.group(2).strip("\"'")
            self.last_lines.clear()
            self.total = total
            if done > self.progress:
                self.progress = done
                self.emit(
                    Progress(
                        step="build",
                        done=done,
                        total=total,
                        unit="steps",
                        detail=redact.redact(line),
                    )
                )
        elif not line.startswith((" ---> ", "Removing intermediate container")):
            self.last_lines.append(line)


def _build_once(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    *,
    pull: bool,
    buildargs: dict[str, str] | None,
    run: _BuildRun,
    cancel: threading.Event | None,
) -> None:
    import docker

    context_tar = _context_tar(context)
    stream = client.api.build(
        fileobj=context_tar,
        custom_context=True,
        tag=tag,
        decode=True,
        rm=True,
        forcerm=True,
        pull=pull,
        platform=PLATFORM,
        buildargs=buildargs,
        network_mode="host",  # RUN steps reach package registries even on --bridge=none engines
        timeout=None,  # a silent RUN step may take long
    )
    try:
        for event in _events(stream, cancel):
            run.feed(event)
            if run.error:
                break
    except docker.errors.APIError as exc:
        raise errors.build_api_error(_api_text(exc), str(context / "Dockerfile")) from exc
    finally:
        with contextlib.suppress(Exception):
            stream.close()
        context_tar.close()
    run.flush()


def _lost(exc: Exception) -> WizardError:
    return WizardError(
        f"Lost the connection to the Docker engine: {exc}",
        "Check that the engine is still running (Docker Desktop may have restarted or "
        "run out of memory), then try again.",
        code=ErrorCode.DAEMON_LOST,
    )


def _api_text(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def build(settings: Settings, *, emit: Emit = ignore, cancel: threading.Event | None = None) -> str:
    """Build the context for linux/amd64 and tag it as the image reference typed; return the id."""
    check_cancel(cancel)
    _parse(settings.docker.image)
    image = settings.docker.image.strip()
    with step(emit, "build", f"Build {image}", cancel=cancel, field="docker.image") as handle:
        return _build(settings, emit, cancel, handle)


def _build(settings: Settings, emit: Emit, cancel: threading.Event | None, handle: Step) -> str:
    import docker
    import requests

    tag = settings.docker.image.strip()
    context = resolve_context(settings)
    client = connect(timeout=_STREAM_TIMEOUT)
    buildargs = settings.build_args() or None
    base = (buildargs or {}).get(BUILD_ARG_BASE, "")
    shown = "".join(f", {k}={v}" for k, v in (buildargs or {}).items())
    emit(LogLine(step="build", text=f"Building {context} as {tag} for {PLATFORM}{shown}"))
    pull = bool(settings.docker.pull)
    floor = 0
    try:
        with _cancel_streams(client, cancel):
            while True:
                run = _BuildRun(emit, floor)
                _build_once(
                    client, context, tag, pull=pull, buildargs=buildargs, run=run, cancel=cancel
                )
                if run.error is None:
                    break
                detail = run.error.get("errorDetail") or {}
                text = str(detail.get("message") or run.error.get("error") or "unknown error")
                keyword = run.instruction.split(None, 1)[0].upper() if run.instruction else ""
                if pull and keyword == "FROM":
                    # A base that exists only in the local engine cannot be pulled; the
                    # classic builder insists on trying. Build with what is local.
                    emit(
                        LogLine(
                            step="build",
                            text=f"Could not pull a newer base image ({errors.clean_line(text)}); "
                            "building with the local copy instead.",
                            level="warning",
                        )
                    )
                    pull, floor = False, run.progress
                    continue
                requirements = _failed_requirements(list(run.last_lines))
                if requirements:
                    raise WizardError(
                        f"The packages of {requirements} could not be installed into the "
                        "image.\nLast output:\n"
                        + "\n".join(f"  {line}" for line in run.last_lines),
                        f"Fix {requirements} (pip's message above names the package or the "
                        "version that conflicts); the image's own pins in requirements.txt "
                        "beside the Dockerfile stay as they are. Then deploy again.",
                        code=ErrorCode.RUN_FAILED,
                    )
                raise errors.build_step_error(
                    text,
                    step=run.step,
                    instruction=run.expanded(run.instruction, buildargs),
                    last_lines=list(run.last_lines),
                    exit_code=detail.get("code"),
                    base_image=base,
                    pull_attempted=bool(settings.docker.pull),
                )
        built = client.images.get(tag)
        run.image_id = run.image_id or built.id
        size_bytes = int(built.attrs.get("Size") or 0)
        if size_bytes:
            emit(LogLine(step="build", text=f"Image size: {_mib(size_bytes)} unpacked"))
        if run.total:
            emit(Progress(step="build", done=run.total, total=run.total, unit="steps"))
    except (WizardError, Cancelled):
        raise
    except docker.errors.APIError as exc:
        error = errors.build_api_error(_api_text(exc), str(context / "Dockerfile"))
        raise error from exc
    except docker.errors.DockerException as exc:
        error = errors.daemon_error(_api_text(exc), os.environ.get("DOCKER_HOST", ""), sys.platform)
        raise error from exc
    except (requests.exceptions.RequestException, OSError) as exc:
        raise _lost(exc) from exc
    finally:
        client.close()
    size_text = f", {_mib(size_bytes)}" if size_bytes else ""
    handle.done(f"Built {tag} ({run.image_id.removeprefix('sha256:')[:12]}{size_text})")
    return run.image_id


def _mib(size_bytes: int) -> str:
    return f"{size_bytes / 2**20:,.0f} MiB"


_PIP_FAILED = re.compile(r"ERROR: pip could not install the packages of (\S+)")


def _failed_requirements(lines: list[str]) -> str:
    """The models' requirements file whose install failed (the bundled Dockerfile says), or ""."""
    for line in reversed(lines):
        match = _PIP_FAILED.search(line)
        if match:
            return match.group(1)
    return ""


# --- push --------------------------------------------------------------------------------


class _PushProgress:
    """Per-layer bytes folded into one total that never goes backwards.

    The engine reports each layer's ``current``/``total`` (``current`` may pass
    ``total``; a tiny layer may say total 1). Layers the registry already has count as
    done with no bytes to send.
    """

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.sent: dict[str, int] = {}
        self.size: dict[str, int] = {}
        self.finished: set[str] = set()
        self.existing: set[str] = set()
        self.last: tuple[int, ...] = ()

    def feed(self, event: dict[str, Any]) -> None:
        layer = str(event.get("id") or "")
        status = str(event.get("status") or "")
        if not layer or not status:
            return
        self.sent.setdefault(layer, 0)
        self.size.setdefault(layer, 0)
        detail = event.get("progressDetail") or {}
        if status == "Pushing" and detail:
            current, total = int(detail.get("current") or 0), int(detail.get("total") or 0)
            self.size[layer] = max(self.size[layer], total, current)
            self.sent[layer] = max(self.sent[layer], current)
        elif status == "Pushed":
            self.finished.add(layer)
            self.sent[layer] = self.size[layer]
        elif status == "Layer already exists" or status.startswith("Mounted from"):
            self.finished.add(layer)
            self.existing.add(layer)
            self.sent[layer] = self.size[layer]
        self._emit()

    def complete(self) -> None:
        self.finished.update(self.sent)
        for layer in self.sent:
            self.sent[layer] = self.size[layer]
        self._emit()

    def _emit(self) -> None:
        done, total = sum(self.sent.values()), sum(self.size.values())
        state = (done, total, len(self.finished), len(self.sent))
        if state == self.last:
            return
        self.last = state
        existing = f", {len(self.existing)} already in the registry" if self.existing else ""
        detail = f"{len(self.finished)}/{len(self.sent)} layers{existing}"
        self.emit(Progress(step="push", done=done, total=total, unit="B", detail=detail))


def _auth_config(settings: Settings, password: str) -> dict[str, str]:
    return {"username": settings.docker.username.strip(), "password": password}


def _login(client: docker.DockerClient, ref: ImageRef, settings: Settings, password: str) -> None:
    """Check the credentials with the registry before pushing (no docker config is written)."""
    import docker

    with tempfile.TemporaryDirectory(prefix="aciw-docker-") as folder:
        empty = Path(folder) / "config.json"
        empty.write_text("{}")  # read instead of the user's config: no credential helper runs
        try:
            client.api.login(
                username=settings.docker.username.strip(),
                password=password,
                registry=None if ref.is_docker_hub else ref.registry,
                reauth=True,
                dockercfg_path=str(empty),
            )
        except docker.errors.APIError as exc:
            raise errors.registry_api_error(
                _api_text(exc),
                401 if errors.is_unauthorized(_api_text(exc)) else None,
                registry=ref.registry,
                image=str(ref),
                username=settings.docker.username.strip(),
                hub=ref.is_docker_hub,
                action="push to",  # the sign-in is for a push: the hint says so
            ) from None


def push(
    settings: Settings, password: str, *, emit: Emit = ignore, cancel: threading.Event | None = None
) -> str:
    """Push the tag to its registry with the given credentials; return the pushed digest."""
    redact.register(password)
    check_cancel(cancel)
    ref = _parse(settings.docker.image)
    title = f"Push {settings.docker.image.strip()} to {ref.registry}"
    with step(emit, "push", title, cancel=cancel, field="docker.image") as handle:
        return _push(settings, ref, password, emit, cancel, handle)


def _push(
    settings: Settings,
    ref: ImageRef,
    password: str,
    emit: Emit,
    cancel: threading.Event | None,
    handle: Step,
) -> str:
    import docker
    import requests

    repository = str(ImageRef(domain=ref.domain, path=ref.path, tag="", digest=""))
    tag = ref.tag_or_latest
    username = settings.docker.username.strip()
    progress = _PushProgress(emit)
    digest = ""
    client = connect(timeout=_STREAM_TIMEOUT)
    try:
        with _cancel_streams(client, cancel):
            if username and password:
                emit(LogLine(step="push", text=f"Logging in to {ref.registry} as {username}"))
                _login(client, ref, settings, password)
            check_cancel(cancel)
            stream = client.api.push(
                repository,
                tag=tag,
                stream=True,
                decode=True,
                auth_config=_auth_config(settings, password) if username and password else None,
            )
            try:
                for event in _events(stream, cancel):
                    if "errorDetail" in event or "error" in event:
                        detail = event.get("errorDetail") or {}
                        text = str(detail.get("message") or event.get("error") or "unknown error")
                        raise errors.push_error(
                            text,
                            registry=ref.registry,
                            repository=repository,
                            username=username,
                            hub=ref.is_docker_hub,
                        )
                    aux = event.get("aux")
                    if isinstance(aux, dict) and aux.get("Digest"):
                        digest = str(aux["Digest"])
                    if event.get("id"):
                        progress.feed(event)
                    elif event.get("status"):
                        emit(LogLine(step="push", text=redact.redact(str(event["status"]))))
            finally:
                with contextlib.suppress(Exception):
                    stream.close()
        if not digest:
            raise WizardError(
                f"The push of {settings.docker.image.strip()} ended without a digest",
                "Push again; if it keeps happening, check the registry's logs.",
                code=ErrorCode.PUSH_FAILED,
            )
        progress.complete()
    except (WizardError, Cancelled):
        raise
    except docker.errors.DockerException as exc:
        text = _api_text(exc)
        error = errors.push_error(
            text,
            registry=ref.registry,
            repository=repository,
            username=username,
            hub=ref.is_docker_hub,
        )
        raise error from exc
    except (requests.exceptions.RequestException, OSError) as exc:
        raise _lost(exc) from exc
    finally:
        client.close()
    handle.done(f"Pushed {settings.docker.image.strip()} ({digest})")
    return digest


# --- an image that is already in the registry --------------------------------------------


def verify_remote(settings: Settings, password: str | None) -> str:
    """The digest the registry holds for the tag; WizardError if it is missing, not readable,
    or not built for linux/amd64 (code ``image_platform``: ACI could never start it).

    Asked over the registry's HTTP API, not through an engine: a user who deploys an
    image pushed elsewhere needs no Docker on this machine.
    """
    ref = _parse(settings.docker.image)
    found = registry_api.inspect_image(ref, settings.docker.username.strip(), password or "")
    return registry_api.require_amd64(ref, found).digest


# --- the image step of the pipeline ------------------------------------------------------


def _skip_events(emit: Emit, image: str, reason: str) -> None:
    for name, title in (("build", f"Build {image}"), ("push", f"Push {image}")):
        emit(StepStarted(step=name, title=title))
        emit(LogLine(step=name, text=reason))
        emit(StepFinished(step=name, summary=f"Skipped: {reason}"))


def build_and_push(
    settings: Settings,
    password: str,
    state: PushedImage,
    *,
    emit: Emit = ignore,
    cancel: threading.Event | None = None,
    force: bool = False,
) -> ImageResult:
    """Build and push unless the registry already has exactly this context's image.

    ``state`` is the last successful push, as the run state recorded it.
    The skip needs the same image name, the same context hash, and the tag still in the
    registry at the recorded digest (someone else may have pushed over it). With
    ``docker.build`` off, only the check that the tag exists is done.
    """
    if password:
        redact.register(password)
    image = settings.docker.image.strip()
    _parse(image)
    if not settings.docker.build:
        with step(emit, "push", f"Check {image} in the registry", field="docker.image") as handle:
            digest = verify_remote(settings, password or None)
            handle.done(f"Using the existing {image} ({digest})")
        return ImageResult(image, digest, False, False, state.context_hash)

    try:
        context = resolve_context(settings)
    except WizardError as exc:
        raise fail(emit, "build", exc) from None  # reported as the build's failure
    current = context_hash(context, build_args=settings.build_args())
    if not force and state.context_hash == current and state.image == image and state.digest:
        check_cancel(cancel)
        try:
            remote = verify_remote(settings, password or None)
        except WizardError as exc:
            if exc.code != ErrorCode.TAG_MISSING:
                raise fail(emit, "push", exc) from None
            emit(LogLine(step="build", text=f"{image} is no longer in the registry: rebuilding."))
        else:
            if remote == state.digest:
                _skip_events(emit, image, "the build context is unchanged and the registry has it")
                return ImageResult(image, remote, False, False, current)
            emit(
                LogLine(
                    step="build",
                    text=f"{image} in the registry is {remote}, not the {state.digest} "
                    "pushed last time: rebuilding.",
                    level="warning",
                )
            )
    check_cancel(cancel)  # the repository's visibility was settled by check_login, before
    build(settings, emit=emit, cancel=cancel)
    digest = push(settings, password, emit=emit, cancel=cancel)
    return ImageResult(image, digest, True, True, current)


def check_visibility(settings: Settings, password: str, *, emit: Emit = ignore) -> None:
    """Before building for a push: the models never go public without the user's word.

    Docker Hub: asked through its API (a missing repository is created private; a public
    one is refused unless ``docker.public_image_ok``). Other registries: what is known is
    said. Without credentials the push itself fails later with its own message.
    """
    ref = _parse(settings.docker.image)
    username = settings.docker.username.strip()
    if not ref.is_docker_hub:
        emit(LogLine(step="image", text=docker_hub.not_docker_hub(ref)))
        return
    if not (username and password):
        return
    found = docker_hub.ensure_private(
        ref, username, password, public_ok=settings.docker.public_image_ok
    )
    emit(
        LogLine(
            step="image",
            text=found.summary,
            level="info" if found.private else "warning",
        )
    )
