"""The real prediction image: built from image/ by a real dockerd on a locally made Python base,
run with host networking against the local Numerai, judged by the submission that arrived."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import lightgbm
import pandas as pd
import pytest

from tests.fakes_numerai import FakeNumerai

pytestmark = [pytest.mark.docker, pytest.mark.slow]
IMAGE_DIR = Path(__file__).resolve().parents[2] / "image"


def build(client: Any, context: Path, tag: str, base: str) -> str:
    """``docker build`` of an unchanged copy of image/ with only BASE_IMAGE overridden."""
    log: list[str] = []
    for event in client.api.build(
        path=str(context),
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        network_mode="host",  # pip reads the wheelhouse on the host's loopback
        pull=False,
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "stream" in event:
            log.append(event["stream"])
        if "error" in event:
            tail = "".join(log)[-4000:]
            raise AssertionError(f"docker build failed: {event['error']}\n{tail}")
    return tag


def copy_context(tmp: Path, model: Path | None) -> Path:
    context = tmp / "context"
    shutil.copytree(IMAGE_DIR, context, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if model is not None:
        shutil.copy(model, context / "models" / model.name)
    return context


@pytest.fixture(scope="session")
def docker_client(docker_engine: Any) -> Any:
    return docker_engine.client()


@pytest.fixture(scope="session")
def example_image(
    docker_client: Any, python_base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """image/ exactly as shipped: no model, only the README in models/."""
    context = copy_context(tmp_path_factory.mktemp("example-image"), None)
    return build(docker_client, context, "numerai-predict:test-example", python_base_image)


@pytest.fixture(scope="session")
def booster_image(
    docker_client: Any,
    python_base_image: str,
    booster_dir: Path,
    example_image: str,  # built first: this one reuses its cached layers
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    context = copy_context(tmp_path_factory.mktemp("booster-image"), booster_dir / "model.txt")
    return build(docker_client, context, "numerai-predict:test-booster", python_base_image)


def run(client: Any, image: str, environment: dict[str, str]) -> tuple[int, str]:
    """Run the container to its end with host networking (the fake listens on 127.0.0.1)."""
    container = client.containers.run(
        image, environment=environment, network_mode="host", detach=True
    )
    try:
        status = container.wait(timeout=600)
        return int(status["StatusCode"]), container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


def test_the_shipped_image_submits_the_example_predictions(
    docker_client: Any, example_image: str, numerai_server: FakeNumerai
) -> None:
    code, logs = run(
        docker_client, example_image, {**numerai_server.container_env(), "TRIGGER_ID": "t-1"}
    )
    assert code == 0, logs
    assert "EXAMPLE predictions" in logs
    [sub] = numerai_server.submissions
    assert sub.accepted, sub.reason
    assert sub.trigger_id == "t-1"
    assert set(sub.predictions()) == set(numerai_server.round.ids)


def test_an_image_with_a_booster_submits_its_predictions(
    docker_client: Any, booster_image: str, booster_dir: Path, numerai_server: FakeNumerai
) -> None:
    code, logs = run(docker_client, booster_image, numerai_server.container_env())
    assert code == 0, logs
    assert "model model.txt: Booster" in logs
    [sub] = numerai_server.submissions
    assert sub.accepted, sub.reason
    assert sub.trigger_id is None
    booster = lightgbm.Booster(model_file=str(booster_dir / "model.txt"))
    live = pd.read_parquet(
        numerai_server.round.files[f"{numerai_server.round.version}/live.parquet"],
        columns=booster.feature_name(),
    )
    expected = pd.Series(booster.predict(live), index=live.index).rank(pct=True).to_dict()
    assert sub.predictions() == pytest.approx(expected)


def test_a_refused_key_makes_the_container_fail(
    docker_client: Any, example_image: str, numerai_server: FakeNumerai
) -> None:
    env = {**numerai_server.container_env(), "NUMERAI_SECRET_KEY": "X" * 64}
    code, logs = run(docker_client, example_image, env)
    assert code == 1
    assert "refused the API key" in logs
    assert numerai_server.submissions == []


def test_the_image_runs_as_a_user_and_carries_no_numerai_settings(
    docker_client: Any, example_image: str
) -> None:
    image = docker_client.images.get(example_image)
    config = image.attrs["Config"]
    assert config["User"] == "predict"
    assert not [e for e in config.get("Env") or [] if e.startswith("NUMERAI_")]
    out = docker_client.containers.run(
        example_image, ["id", "-u"], remove=True, network_mode="none"
    )
    assert out.decode().strip() != "0"
