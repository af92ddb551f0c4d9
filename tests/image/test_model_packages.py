"""A model's own packages, built into the real image by the product's build (a real dockerd):
``models/<model>/requirements.txt`` installs on top of the image's pins, its package imports in
the container where the model's Model Upload uses it, a model file change does not reinstall,
and a requirement pip cannot meet fails the build naming the file.

The package is a tiny wheel made here and served from loopback next to the test wheelhouse
(``tests/fixtures/python_base.py``): the build reaches no index on the internet."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.events import LogLine, StepFinished, WizardError
from numerai_aci_wizard.services import docker_image
from numerai_aci_wizard.settings import Settings
from tests.fixtures.python_base import EXTRA, copy_context
from tests.support.numerai import FakeNumerai
from tests.support.numerai.models import upload_function_pkl

pytestmark = [pytest.mark.docker, pytest.mark.slow]

USES_EXTRA = """
import pandas as pd

def predict(live_features):
    import aci_demo_extra
    return pd.DataFrame({"prediction": aci_demo_extra.constant()}, index=live_features.index)
"""


@pytest.fixture(scope="session")
def extras_base(python_base_image: str) -> str:
    """The test Python base: its pip finds the tiny wheel too (python_base.EXTRA), so the
    image's pinned packages come from the session's cached layer, installed once."""
    return python_base_image


def settings_for(context: Path, base: str, tag: str) -> Settings:
    settings = Settings()
    settings.docker.image = tag
    settings.docker.context = str(context)
    settings.docker.base_image = base
    settings.docker.pull = False
    return settings


def build(settings: Settings) -> tuple[str, list[str], list[StepFinished]]:
    lines: list[str] = []
    finished: list[StepFinished] = []

    def emit(event: object) -> None:
        if isinstance(event, LogLine):
            lines.append(event.text)
        elif isinstance(event, StepFinished):
            finished.append(event)

    return docker_image.build(settings, emit=emit), lines, finished


def run(
    client: Any, image: str, environment: dict[str, str], command: Any = None
) -> tuple[int, str]:
    container = client.containers.run(
        image, command, environment=environment, network_mode="host", detach=True
    )
    try:
        status = container.wait(timeout=600)
        return int(status["StatusCode"]), container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def test_a_model_folder_with_its_own_requirements_builds_and_its_package_runs_in_the_container(
    docker_env: Any,
    extras_base: str,
    hello_numerai_pkl: Path,
    numerai_server: FakeNumerai,
    tmp_path: Path,
) -> None:
    first, second = numerai_server.models[:2]
    context = copy_context(tmp_path)
    own = context / "models" / first.name
    upload_function_pkl(own / "uses_extra.pkl", USES_EXTRA)
    (own / "requirements.txt").write_text(f"{EXTRA}==1.0\n")
    (context / "models" / second.name).mkdir()
    shutil.copy(hello_numerai_pkl, context / "models" / second.name)
    settings = settings_for(context, extras_base, "numerai-predict:test-extras")

    _, lines, finished = build(settings)
    assert f"Installing the packages of models/{first.name}/requirements.txt" in lines
    assert any(line.startswith(f"Successfully installed {EXTRA}-1.0") for line in lines), lines[
        -30:
    ]
    size_lines = [line for line in lines if line.startswith("Image size: ")]
    assert size_lines and size_lines[0].endswith(" MiB unpacked")
    client = docker_env.client()
    assert client.images.get(settings.docker.image).attrs["Size"] > 100 * 2**20
    assert finished[-1].summary.endswith(" MiB)")  # the build says the size it read
    code, out = run(
        client,
        settings.docker.image,
        {},
        ["python", "-c", f"import {EXTRA}; print({EXTRA}.constant())"],
    )
    assert (code, out.strip()) == (0, "0.25")
    code, logs = run(
        client, settings.docker.image, numerai_server.container_env([first.id, second.id])
    )
    assert code == 0, logs
    subs = {s.model_id: s for s in numerai_server.accepted}
    assert set(subs[first.id].predictions().values()) == {0.25}
    assert len(subs[second.id].predictions()) == len(numerai_server.round.ids)
    assert "a Numerai Model Upload, function predict(live_features)" in logs

    # a model file changes: the packages' layer is reused, nothing is reinstalled
    (context / "models" / second.name / "data_version").write_text("v5.2\n")
    _, again, _ = build(settings)
    assert not [line for line in again if line.startswith("Installing the packages of")]
    step = next(i for i, line in enumerate(again) if "RUN cd /app/model-requirements" in line)
    assert again[step + 1].strip() == "---> Using cache", again[step : step + 3]


def test_a_requirement_pip_cannot_meet_fails_the_build_naming_the_file(
    docker_env: Any, extras_base: str, tmp_path: Path
) -> None:
    context = copy_context(tmp_path)
    own = context / "models" / "my_model"
    own.mkdir()
    (own / "requirements.txt").write_text("aci-no-such-package==9.9\n")
    settings = settings_for(context, extras_base, "numerai-predict:test-bad-requirements")
    with pytest.raises(WizardError) as caught:
        build(settings)
    message = caught.value.message
    assert message.startswith(
        "The packages of models/my_model/requirements.txt could not be installed into the image"
    )
    assert "aci-no-such-package" in message
    assert "Fix models/my_model/requirements.txt" in caught.value.hint
