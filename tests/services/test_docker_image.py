"""The image service against a real dockerd and an htpasswd-protected registry on loopback.

What a user would notice: the tag and digest really land in the registry, an unchanged
context is not rebuilt, every failure they can cause reads as a specific message with a
hint, cancelling stops a silent build, and the password never shows up in an event.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from numerai_aci_wizard import redact
from numerai_aci_wizard.engines import PushedImage
from numerai_aci_wizard.events import (
    Cancelled,
    Event,
    LogLine,
    Progress,
    StepFailed,
    StepFinished,
    WizardError,
)
from numerai_aci_wizard.services import docker_image
from numerai_aci_wizard.settings import Settings
from tests.fixtures.docker_engine import DockerEngine, free_port

pytestmark = pytest.mark.docker

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def make_context(root: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


GOOD_DOCKERFILE = (
    "ARG BASE_IMAGE=localbase/busybox:latest\n"
    "FROM ${BASE_IMAGE}\n"
    "COPY predict.sh /app/predict.sh\n"
    "RUN echo building && sh /app/predict.sh\n"
    'CMD ["sh", "/app/predict.sh"]\n'
)


def settings_for(
    engine: DockerEngine, context: Path, image: str, base: str, **docker: object
) -> Settings:
    settings = Settings()
    settings.docker.image = image
    settings.docker.username = engine.registry_username
    settings.docker.context = str(context)
    settings.docker.base_image = base
    for key, value in docker.items():
        setattr(settings.docker, key, value)
    return settings


def registry_get(engine: DockerEngine, path: str, accept: str = "") -> tuple[dict, dict]:
    """GET on the registry's HTTP API with basic auth: (json body, headers)."""
    request = urllib.request.Request(engine.registry_url + path)
    token = base64.b64encode(f"{engine.registry_username}:{engine.registry_password}".encode())
    request.add_header("Authorization", "Basic " + token.decode())
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read()), dict(response.headers)


def run_output(engine: DockerEngine, image: str) -> str:
    """What the image prints when run (logs read after exit: a followed stream can miss them)."""
    container = engine.client().containers.run(image, detach=True)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        return container.logs().decode().strip()
    finally:
        container.remove(force=True)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, step: str, kind: type) -> list:
        return [e for e in self.events if e.step == step and isinstance(e, kind)]

    def text(self) -> str:
        return "\n".join(repr(e) for e in self.events)


def assert_monotonic(progress: list[Progress]) -> None:
    assert progress, "no progress was reported"
    dones = [p.done for p in progress]
    assert dones == sorted(dones), f"progress went backwards: {dones}"
    assert all(p.done <= p.total for p in progress if p.total)


@pytest.fixture
def app_context(tmp_path: Path) -> Path:
    return make_context(
        tmp_path / "ctx",
        GOOD_DOCKERFILE,
        {"predict.sh": "echo predicting\n", ".dockerignore": "notes/\n", "notes/todo.txt": "one\n"},
    )


def test_build_and_push_lands_in_the_registry(
    docker_env: DockerEngine, busybox_base: str, app_context: Path
):
    image = f"{docker_env.registry}/team/predict:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    events = Recorder()

    result = docker_image.build_and_push(
        settings, docker_env.registry_password, PushedImage(), emit=events
    )

    assert result.built and result.pushed
    assert result.image == image
    tags, _ = registry_get(docker_env, "/v2/team/predict/tags/list")
    assert tags["tags"] == ["v1"]
    _, headers = registry_get(docker_env, "/v2/team/predict/manifests/v1", accept=MANIFEST_V2)
    assert headers["Docker-Content-Digest"] == result.digest
    # Built from the local base although pull is on (the default): the registry cannot be reached.
    assert any("local copy" in e.text for e in events.of("build", LogLine))
    assert any(e.text == "building" for e in events.of("build", LogLine))  # RUN output streams
    build_progress = events.of("build", Progress)
    assert_monotonic(build_progress)
    assert (build_progress[-1].done, build_progress[-1].total) == (5, 5)  # ARG FROM COPY RUN CMD
    push_progress = events.of("push", Progress)
    assert_monotonic(push_progress)
    assert push_progress[-1].done == push_progress[-1].total > 0
    assert [type(e) for e in events.events if e.step == "push"][-1] is StepFinished
    assert result.digest in events.of("push", StepFinished)[0].summary
    assert docker_env.registry_password not in events.text()
    assert (
        redact.redact(f"pw={docker_env.registry_password}") == "pw=***"
    )  # registered for logs too
    # The docker config the user may have is never written.
    assert not (Path(os.environ["DOCKER_CONFIG"]) / "config.json").exists()

    # The image runs what was built.
    assert run_output(docker_env, image) == "predicting"


def test_unchanged_context_is_not_rebuilt(
    docker_env: DockerEngine, busybox_base: str, app_context: Path
):
    image = f"{docker_env.registry}/team/skip:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    first = docker_image.build_and_push(settings, docker_env.registry_password, PushedImage())
    state = PushedImage(first.image, first.context_hash, first.digest)

    (app_context / "notes" / "todo.txt").write_text("ignored by .dockerignore\n")
    events = Recorder()
    again = docker_image.build_and_push(settings, docker_env.registry_password, state, emit=events)

    assert (again.built, again.pushed, again.digest) == (False, False, first.digest)
    assert not any(isinstance(e, Progress) for e in events.events)
    assert events.of("push", StepFinished)[0].summary.startswith("Skipped: ")

    forced = docker_image.build_and_push(settings, docker_env.registry_password, state, force=True)
    assert forced.built and forced.pushed

    (app_context / "predict.sh").write_text("echo predicting v2\n")
    changed = docker_image.build_and_push(settings, docker_env.registry_password, state)
    assert changed.built and changed.pushed
    assert changed.context_hash != first.context_hash
    assert changed.digest != first.digest
    _, headers = registry_get(docker_env, "/v2/team/skip/manifests/v1", accept=MANIFEST_V2)
    assert headers["Docker-Content-Digest"] == changed.digest


def test_tag_overwritten_by_someone_else_is_rebuilt(
    docker_env: DockerEngine, busybox_base: str, app_context: Path, tmp_path: Path
):
    image = f"{docker_env.registry}/team/shared:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    first = docker_image.build_and_push(settings, docker_env.registry_password, PushedImage())
    state = PushedImage(first.image, first.context_hash, first.digest)
    other = make_context(tmp_path / "other", GOOD_DOCKERFILE, {"predict.sh": "echo someone else\n"})
    intruder = docker_image.build_and_push(
        settings_for(docker_env, other, image, busybox_base),
        docker_env.registry_password,
        PushedImage(),
    )
    assert intruder.digest != first.digest

    events = Recorder()
    again = docker_image.build_and_push(settings, docker_env.registry_password, state, emit=events)

    assert again.built and again.pushed
    assert any("not the" in e.text for e in events.of("build", LogLine))
    assert run_output(docker_env, image) == "predicting"


def test_existing_image_is_verified_not_built(
    docker_env: DockerEngine, busybox_base: str, app_context: Path
):
    image = f"{docker_env.registry}/team/existing:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    pushed = docker_image.build_and_push(settings, docker_env.registry_password, PushedImage())

    settings.docker.build = False
    used = docker_image.build_and_push(settings, docker_env.registry_password, PushedImage())
    assert (used.built, used.pushed, used.digest) == (False, False, pushed.digest)
    assert docker_image.verify_remote(settings, docker_env.registry_password) == pushed.digest

    settings.docker.image = f"{docker_env.registry}/team/existing:v2"
    with pytest.raises(WizardError) as missing:
        docker_image.verify_remote(settings, docker_env.registry_password)
    assert missing.value.code == "tag_missing"
    assert "team/existing:v2" in missing.value.message
    events = Recorder()
    with pytest.raises(WizardError):
        docker_image.build_and_push(
            settings, docker_env.registry_password, PushedImage(), emit=events
        )
    assert isinstance(events.events[-1], StepFailed)

    settings.docker.image = image
    with pytest.raises(WizardError) as refused:
        docker_image.verify_remote(settings, "wrong-password")
    assert refused.value.code == "unauthorized"


def _build_error(
    engine: DockerEngine, context: Path, base: str, **docker: object
) -> tuple[WizardError, Recorder]:
    settings = settings_for(engine, context, f"{engine.registry}/team/broken:v1", base, **docker)
    events = Recorder()
    with pytest.raises(WizardError) as caught:
        docker_image.build(settings, emit=events)
    last = events.events[-1]
    assert isinstance(last, StepFailed) and last.step == "build"
    assert last.message == caught.value.message and last.hint
    return caught.value, events


def test_dockerfile_parse_error_names_the_line(
    docker_env: DockerEngine, busybox_base: str, tmp_path: Path
):
    context = make_context(tmp_path / "c", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nFORM oops\n")
    error, _ = _build_error(docker_env, context, busybox_base)
    assert error.code == "dockerfile_parse"
    assert "line 3" in error.message and "unknown instruction" in error.message.lower()
    assert "line 3" in error.hint


def test_failing_run_step_shows_step_output_and_exit_code(
    docker_env: DockerEngine, busybox_base: str, tmp_path: Path
):
    context = make_context(
        tmp_path / "c",
        "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo fine\n"
        "RUN echo installing; echo 'no such package' >&2; exit 3\n",
    )
    error, _ = _build_error(docker_env, context, busybox_base)
    assert error.code == "run_failed"
    assert "step 4/4" in error.message and "exit 3" in error.message
    assert "code 3" in error.message
    assert "installing" in error.message and "no such package" in error.message
    assert "\x1b[" not in error.message  # stderr's colour codes are stripped
    assert "fine" not in error.message.split("Last output:")[1]  # only the failing step's lines


def test_missing_copy_source(docker_env: DockerEngine, busybox_base: str, tmp_path: Path):
    context = make_context(
        tmp_path / "c", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY model.txt /app/\n"
    )
    error, _ = _build_error(docker_env, context, busybox_base)
    assert error.code == "copy_source_missing"
    assert "model.txt" in error.message and ".dockerignore" in error.hint


def test_missing_base_image(docker_env: DockerEngine, busybox_base: str, tmp_path: Path):
    context = make_context(tmp_path / "c", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN true\n")
    error, events = _build_error(docker_env, context, "localbase/nosuch:1")
    # the engine tries Docker Hub for a base it does not have: without a network (as here) the
    # truth is that Hub cannot be reached, not a typo (issue 21); online, that Hub has no such
    # repository (both wordings: test_docker_events.py)
    offline = "no such host" in error.message or "cannot be reached" in error.message
    assert error.code == ("registry_unreachable" if offline else "base_image_missing")
    assert "localbase/nosuch:1" in error.message
    assert any("local copy" in e.text for e in events.of("build", LogLine))  # pull was tried first

    error, events = _build_error(docker_env, context, "localbase/nosuch:1", pull=False)
    assert error.code == ("registry_unreachable" if offline else "base_image_missing")
    assert not any("local copy" in e.text for e in events.of("build", LogLine))  # no pull tried


def test_context_without_dockerfile(docker_env: DockerEngine, busybox_base: str, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    error, _ = _build_error(docker_env, tmp_path / "empty", busybox_base)
    assert error.code == "no_dockerfile" and error.exit_code == 2


@pytest.fixture
def built_image(docker_env: DockerEngine, busybox_base: str, app_context: Path) -> Settings:
    settings = settings_for(
        docker_env, app_context, f"{docker_env.registry}/team/auth:v1", busybox_base
    )
    docker_image.build(settings)
    return settings


def test_wrong_password_is_refused(docker_env: DockerEngine, built_image: Settings):
    events = Recorder()
    with pytest.raises(WizardError) as caught:
        docker_image.push(built_image, "not-the-password", emit=events)
    assert caught.value.code == "unauthorized"
    assert docker_env.registry_username in caught.value.message
    assert "not-the-password" not in events.text() + str(caught.value)
    assert isinstance(events.events[-1], StepFailed)


def test_the_sign_in_is_checked_before_any_build(docker_env: DockerEngine, built_image: Settings):
    """What the deploy's checks ask first (issue 21): a wrong password costs seconds."""
    said = docker_image.check_login(built_image, docker_env.registry_password)
    assert docker_env.registry_username in said
    with pytest.raises(WizardError) as caught:
        docker_image.check_login(built_image, "not-the-password")
    assert caught.value.code == "unauthorized" and caught.value.field == "docker_password"
    assert "may push to" in caught.value.hint
    assert "not-the-password" not in str(caught.value)


def test_push_without_credentials_is_refused(docker_env: DockerEngine, built_image: Settings):
    built_image.docker.username = ""
    with pytest.raises(WizardError) as caught:
        docker_image.push(built_image, "")
    assert caught.value.code == "unauthorized"
    assert "no basic auth credentials" in caught.value.message


def test_unreachable_registry(docker_env: DockerEngine, busybox_base: str, app_context: Path):
    image = f"127.0.0.1:{free_port()}/team/nowhere:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    docker_image.build(settings)
    events = Recorder()
    with pytest.raises(WizardError) as caught:
        docker_image.push(settings, docker_env.registry_password, emit=events)
    assert caught.value.code == "registry_unreachable"
    assert "connection refused" in caught.value.message
    assert isinstance(events.events[-1], StepFailed)
    with pytest.raises(WizardError) as verify:
        docker_image.verify_remote(settings, docker_env.registry_password)
    assert verify.value.code == "registry_unreachable"


def test_cancel_stops_a_silent_build(docker_env: DockerEngine, busybox_base: str, tmp_path: Path):
    context = make_context(
        tmp_path / "c", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo started && sleep 120\n"
    )
    image = f"{docker_env.registry}/team/cancelled:v1"
    settings = settings_for(docker_env, context, image, busybox_base)
    cancel = threading.Event()
    events = Recorder()

    def emit(event: Event) -> None:
        events(event)
        if isinstance(event, LogLine) and event.text == "started":
            cancel.set()  # the RUN step is now silent for 2 minutes

    with pytest.raises(Cancelled):
        docker_image.build(settings, emit=emit, cancel=cancel)

    assert not any("Successfully built" in e.text for e in events.of("build", LogLine))
    client = docker_env.client()
    assert not client.images.list(name=image)
    # The engine stops and removes the RUN step's container once its client has gone. The
    # low-level list: the high-level one inspects each container it listed, and one removed
    # in between answers 404.
    for _ in range(150):
        if not client.api.containers(all=True):
            break
        time.sleep(0.2)
    assert not client.api.containers(all=True)


def test_cancel_before_push(docker_env: DockerEngine, built_image: Settings):
    cancel = threading.Event()
    events = Recorder()

    def emit(event: Event) -> None:
        events(event)
        cancel.set()

    with pytest.raises(Cancelled):
        docker_image.push(built_image, docker_env.registry_password, emit=emit, cancel=cancel)
    assert not events.of("push", StepFinished)


def test_check_daemon(docker_env: DockerEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    assert docker_image.check_daemon().startswith("20.")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(WizardError) as caught:
        docker_image.check_daemon()
    assert caught.value.code == "daemon_unreachable" and caught.value.exit_code == 2
    assert "DOCKER_HOST" in caught.value.hint


@pytest.mark.linux_only  # fork, setuid to nobody, a unix socket
def test_permission_denied_on_the_socket(
    docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch
):
    """A user outside the docker group: the engine's socket sits in a root-only folder."""
    import docker  # noqa: F401 - loaded before the fork: the child cannot read root's site-packages

    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child drops to nobody, asks, reports through the pipe, and exits at once
        os.close(read_end)
        try:
            os.setgid(65534)
            os.setuid(65534)
            docker_image.check_daemon()
            message = "no error"
        except WizardError as exc:
            message = f"{exc.code}|{exc.message}|{exc.hint}"
        except BaseException as exc:  # noqa: BLE001 - anything else is reported to the parent
            message = f"unexpected {type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as reader:
        code, message, hint = (reader.read().split("|") + ["", ""])[:3]
    assert code == "daemon_permission", code
    assert "Permission denied" in message and docker_engine.host in message
    assert "docker group" in hint


def test_rehearsal_runs_the_amd64_image_not_a_local_arm64_one(
    docker_env: DockerEngine, busybox_base: str, app_context: Path, tmp_path: Path
):
    """On an Apple Silicon Mac the local tag may be arm64: the rehearsal runs what ACI runs."""
    image = f"{docker_env.registry}/team/rehearse:v1"
    settings = settings_for(docker_env, app_context, image, busybox_base)
    docker_image.build(settings)
    docker_image.push(settings, docker_env.registry_password)
    client = docker_env.client()
    arm = make_context(
        tmp_path / "arm", 'FROM scratch\nCOPY note.txt /note.txt\nCMD ["/x"]\n', {"note.txt": "x"}
    )
    client.images.build(path=str(arm), tag=image, platform="linux/arm64", rm=True)
    assert client.images.get(image).attrs["Architecture"] == "arm64"

    lines: list[str] = []
    code = docker_image.run_local(
        image, {}, on_text=lines.append,
        username=docker_env.registry_username, password=docker_env.registry_password,
    )  # fmt: skip
    assert (code, lines) == (0, ["predicting"])
    assert client.images.get(image).attrs["Architecture"] == "amd64"
