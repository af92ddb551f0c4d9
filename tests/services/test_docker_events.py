"""The image service's pure parts: push progress folding, the engine's error texts, the context hash.

The inputs are the engine's own words, recorded from Debian's dockerd 20.10 and Docker
Distribution 2.8 (see tests/services/test_docker_image.py for the same paths end to end).
Disk full cannot be caused on a shared test machine, so its mapping is checked here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from numerai_aci_wizard.events import Event, Progress, WizardError
from numerai_aci_wizard.services import docker_errors, docker_image
from numerai_aci_wizard.settings import Settings

# A real push of a two-layer image, then a second push of the same image.
FIRST_PUSH = [
    {"status": "The push refers to repository [127.0.0.1:38581/team/app]"},
    {"status": "Preparing", "progressDetail": {}, "id": "fef8bf1efa80"},
    {"status": "Preparing", "progressDetail": {}, "id": "6a410c7fd775"},
    {"status": "Pushing", "progressDetail": {"current": 512, "total": 1}, "id": "fef8bf1efa80"},
    {"status": "Pushing", "progressDetail": {"current": 2048, "total": 1}, "id": "fef8bf1efa80"},
    {
        "status": "Pushing",
        "progressDetail": {"current": 38400, "total": 1984172},
        "id": "6a410c7fd775",
    },
    {"status": "Pushed", "progressDetail": {}, "id": "fef8bf1efa80"},
    {
        "status": "Pushing",
        "progressDetail": {"current": 1381888, "total": 1984172},
        "id": "6a410c7fd775",
    },
    {
        "status": "Pushing",
        "progressDetail": {"current": 2129920, "total": 1984172},
        "id": "6a410c7fd775",
    },
    {"status": "Pushed", "progressDetail": {}, "id": "6a410c7fd775"},
]
SECOND_PUSH = [
    {"status": "Preparing", "progressDetail": {}, "id": "fef8bf1efa80"},
    {"status": "Preparing", "progressDetail": {}, "id": "6a410c7fd775"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "6a410c7fd775"},
    {"status": "Layer already exists", "progressDetail": {}, "id": "fef8bf1efa80"},
]


def fold(stream: list[dict]) -> list[Progress]:
    seen: list[Event] = []
    progress = docker_image._PushProgress(seen.append)
    for event in stream:
        if event.get("id"):
            progress.feed(event)
    progress.complete()
    assert all(isinstance(e, Progress) and e.step == "push" for e in seen)
    return seen  # type: ignore[return-value]


def test_push_progress_never_goes_backwards_and_ends_complete():
    progress = fold(FIRST_PUSH)
    dones = [p.done for p in progress]
    assert dones == sorted(dones)
    assert all(p.done <= p.total for p in progress)
    # current past total counts as the layer's size: 2048 + 2129920 bytes in all.
    assert (progress[-1].done, progress[-1].total) == (2048 + 2129920, 2048 + 2129920)
    assert progress[-1].detail == "2/2 layers"
    assert progress[-1].unit == "B"


def test_layers_already_in_the_registry_count_as_done():
    progress = fold(SECOND_PUSH)
    assert progress[-1].detail == "2/2 layers, 2 already in the registry"
    assert progress[-1].done == progress[-1].total == 0
    assert [p.detail.split(",")[0] for p in progress] == [
        "0/1 layers",
        "0/2 layers",
        "1/2 layers",
        "2/2 layers",
    ]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("unauthorized: authentication required", "unauthorized"),
        ("no basic auth credentials", "unauthorized"),
        ("denied: requested access to the resource is denied", "unauthorized"),
        (
            'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
            "registry_unreachable",
        ),
        (
            'Get "https://registry.example/v2/": dial tcp: lookup registry.example: no such host',
            "registry_unreachable",
        ),
        ("tag does not exist: 127.0.0.1:5000/team/app:v9", "image_missing_locally"),
        ("write /var/lib/docker/tmp/x: no space left on device", "disk_full"),
        ("something nobody expected", "push_failed"),
    ],
)
def test_push_errors(text: str, code: str):
    error = docker_errors.push_error(
        text, registry="r:1", repository="r:1/a", username="u", hub=False
    )
    assert error.code == code
    assert error.hint
    assert text in error.message


def test_docker_hub_unauthorized_mentions_access_tokens():
    error = docker_errors.push_error(
        "denied: requested access to the resource is denied",
        registry="docker.io",
        repository="someone/app",
        username="me",
        hub=True,
    )
    assert "access token" in error.hint and "'me'" in error.message


def test_disk_full_during_a_build_step():
    error = docker_errors.build_step_error(
        "failed to copy files: copy file range failed: no space left on device",
        step="3/4",
        instruction="COPY big.bin /",
        last_lines=[],
        exit_code=None,
    )
    assert error.code == "disk_full"
    assert "docker system prune" in error.hint


def test_disk_full_as_a_run_exit_still_reads_as_disk_full():
    error = docker_errors.build_step_error(
        "mkdir /var/lib/docker/overlay2/x: no space left on device",
        step="4/5",
        instruction="RUN pip install lightgbm",
        last_lines=["Collecting lightgbm"],
        exit_code=1,
    )
    assert error.code == "disk_full"


def test_parse_error_before_the_build_starts():
    error = docker_errors.build_api_error(
        '400 Client Error: Bad Request ("dockerfile parse error line 7: unknown instruction: RUNN")',
        "/ctx/Dockerfile",
    )
    assert error.code == "dockerfile_parse"
    assert error.message == "The Dockerfile has an error on line 7: unknown instruction: RUNN"
    assert "/ctx/Dockerfile" in error.hint


@pytest.mark.parametrize(
    ("text", "docker_host", "platform", "code", "hint_part"),
    [
        ("Error while fetching server API version: ('Connection aborted.', "
         "PermissionError(13, 'Permission denied'))", "", "linux", "daemon_permission", "docker group"),
        ("Error while fetching server API version: ('Connection aborted.', "
         "FileNotFoundError(2, 'No such file or directory'))", "", "darwin", "daemon_unreachable",
         "Docker Desktop"),
        ("Error while fetching server API version: (2, 'CreateFile', 'The system cannot find the "
         "file specified.')", "", "win32", "daemon_unreachable", "Docker Desktop"),
        ("connection refused", "", "linux", "daemon_unreachable", "systemctl start docker"),
        ("connection refused", "tcp://10.0.0.9:2375", "linux", "daemon_unreachable", "DOCKER_HOST"),
    ],
)  # fmt: skip
def test_daemon_errors(text: str, docker_host: str, platform: str, code: str, hint_part: str):
    error = docker_errors.daemon_error(text, docker_host, platform)
    assert error.code == code and error.exit_code == 2
    assert hint_part in error.hint


# --- context hash and context resolution ---------------------------------------------------


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.linux_only  # the executable bit and a symlink
def test_context_hash_follows_what_docker_would_send(tmp_path: Path):
    ctx = make(
        tmp_path / "c",
        {"Dockerfile": "FROM x\n", "predict.py": "print(1)\n", ".dockerignore": "*.log\ncache/\n"},
    )
    first = docker_image.context_hash(ctx)
    assert first.startswith("sha256:") and first == docker_image.context_hash(ctx)

    make(ctx, {"run.log": "noise\n", "cache/a.bin": "x"})  # ignored by .dockerignore
    os.utime(ctx / "predict.py", (1, 1))  # timestamps do not count
    assert docker_image.context_hash(ctx) == first

    (ctx / "predict.py").chmod(0o755)  # the executable bit does
    executable = docker_image.context_hash(ctx)
    assert executable != first

    make(ctx, {"models/model.txt": "tree\n"})
    with_model = docker_image.context_hash(ctx)
    assert with_model != executable

    (ctx / "link").symlink_to("models/model.txt")
    assert docker_image.context_hash(ctx) != with_model

    assert docker_image.context_hash(
        ctx, base_image="python:3.12-slim"
    ) != docker_image.context_hash(ctx)


def test_context_hash_does_not_depend_on_the_folder_name(tmp_path: Path):
    files = {"Dockerfile": "FROM x\n", "a/b.txt": "b\n"}
    assert docker_image.context_hash(make(tmp_path / "one", files)) == docker_image.context_hash(
        make(tmp_path / "two", files)
    )


def test_resolve_context(tmp_path: Path):
    settings = Settings()
    bundled = docker_image.resolve_context(settings)
    assert (bundled / "Dockerfile").is_file()
    assert bundled.name in ("image", "bundled_image")

    settings.docker.context = str(make(tmp_path / "mine", {"Dockerfile": "FROM x\n"}))
    assert docker_image.resolve_context(settings) == (tmp_path / "mine").resolve()

    settings.docker.context = str(make(tmp_path / "nodockerfile", {"README": "x"}))
    with pytest.raises(WizardError) as caught:
        docker_image.resolve_context(settings)
    assert caught.value.code == "no_dockerfile" and caught.value.exit_code == 2

    settings.docker.context = str(tmp_path / "missing")
    with pytest.raises(WizardError) as caught:
        docker_image.resolve_context(settings)
    assert caught.value.code == "context_missing" and "missing" in caught.value.message


@pytest.mark.parametrize(
    ("image", "fragment"),
    [("Not/Valid", "lowercase"), ("repo/app@sha256:" + "a" * 64, "digest")],
)
def test_image_names_that_cannot_be_built(image: str, fragment: str):
    settings = Settings()
    settings.docker.image = image
    with pytest.raises(WizardError) as caught:
        docker_image.build(settings)
    assert caught.value.exit_code == 2 and fragment in caught.value.message


# --- issue 21, items 5 and 6: what a failed build or sign-in says ------------------------

OFFLINE_PULL = (
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on '
    "127.0.0.53:53: server misbehaving"
)


def test_a_base_image_that_cannot_be_pulled_offline_is_not_called_a_typo():
    error = docker_errors.build_step_error(
        OFFLINE_PULL,
        step="2/6",
        instruction="FROM python:3.12-slim",
        last_lines=[],
        exit_code=None,
        pull_attempted=True,
    )
    assert error.code == "registry_unreachable"
    assert "python:3.12-slim could not be pulled: its registry cannot be reached" in error.message
    assert "typo" not in error.hint and "network" in error.hint


def test_a_base_image_hub_does_not_have_is_still_a_missing_base_image():
    error = docker_errors.build_step_error(
        "pull access denied for localbase/nosuch, repository does not exist or may require "
        "'docker login': denied: requested access to the resource is denied",
        step="2/3",
        instruction="FROM localbase/nosuch:1",
        last_lines=[],
        exit_code=None,
        pull_attempted=True,
    )
    assert error.code == "base_image_missing" and "localbase/nosuch:1" in error.message


def test_the_build_shows_from_with_its_argument_expanded_and_each_step_once():
    seen: list[Event] = []
    first = docker_image._BuildRun(seen.append, 0)
    for line in ("Step 1/3 : ARG BASE_IMAGE=python:3.12-slim", "Step 2/3 : FROM ${BASE_IMAGE}"):
        first.feed({"stream": line + "\n"})
    assert first.expanded(first.instruction, None) == "FROM python:3.12-slim"
    assert first.expanded(first.instruction, {"BASE_IMAGE": "local/base:1"}) == "FROM local/base:1"
    retry = docker_image._BuildRun(seen.append, first.progress)  # after a failed pull: again
    for line in (
        "Step 1/3 : ARG BASE_IMAGE=python:3.12-slim",
        "Step 2/3 : FROM ${BASE_IMAGE}",
        " ---> 1234",
        "Step 3/3 : COPY . /app",
    ):
        retry.feed({"stream": line + "\n"})
    lines = [e.text for e in seen if hasattr(e, "text")]
    assert lines.count("Step 1/3 : ARG BASE_IMAGE=python:3.12-slim") == 1
    assert lines.count("Step 2/3 : FROM ${BASE_IMAGE}") == 1
    assert "Step 3/3 : COPY . /app" in lines


def test_a_sign_in_refused_before_a_push_says_the_user_must_be_allowed_to_push():
    error = docker_errors.registry_api_error(
        "unauthorized: authentication required",
        401,
        registry="registry.example.com",
        image="registry.example.com/team/app:latest",
        username="ada",
        hub=False,
        action="push to",
    )
    assert "may push to this repository" in error.hint and "may read" not in error.hint
    assert error.field == "docker_password"
