"""The real prediction image: built from image/ by a real dockerd on a locally made Python base,
run with host networking against the local Numerai, judged by the submission that arrived."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import lightgbm
import pandas as pd
import pytest

from tests.fakes_numerai import FakeNumerai
from tests.fixtures.python_base import build_prediction_image, copy_context

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="session")
def booster_image(
    docker_engine: Any,
    python_base_image: str,
    prediction_image: str,  # built first: this one reuses its cached layers
    booster_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    context = copy_context(tmp_path_factory.mktemp("booster-image"), booster_dir / "model.txt")
    return build_prediction_image(
        docker_engine.client(), context, "numerai-predict:test-booster", python_base_image
    )


@pytest.fixture(scope="session")
def docker_client(docker_engine: Any) -> Any:
    return docker_engine.client()


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
    docker_client: Any, prediction_image: str, numerai_server: FakeNumerai
) -> None:
    code, logs = run(
        docker_client, prediction_image, {**numerai_server.container_env(), "TRIGGER_ID": "t-1"}
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
    docker_client: Any, prediction_image: str, numerai_server: FakeNumerai
) -> None:
    env = {**numerai_server.container_env(), "NUMERAI_SECRET_KEY": "X" * 64}
    code, logs = run(docker_client, prediction_image, env)
    assert code == 1
    assert "refused the API key" in logs
    assert numerai_server.submissions == []


def test_the_image_runs_as_a_user_and_carries_no_numerai_settings(
    docker_client: Any, prediction_image: str
) -> None:
    image = docker_client.images.get(prediction_image)
    config = image.attrs["Config"]
    assert config["User"] == "predict"
    assert not [e for e in config.get("Env") or [] if e.startswith("NUMERAI_")]
    out = docker_client.containers.run(
        prediction_image, ["id", "-u"], remove=True, network_mode="none"
    )
    assert out.decode().strip() != "0"


def test_a_base_without_libgomp_gets_it_installed(
    docker_client: Any, python_base_image: str, tmp_path: Path
) -> None:
    """As on python:3.12-slim: LightGBM's wheel cannot load without the OS's libgomp.so.1."""
    base = f"{python_base_image}-nogomp"
    dockerfile = (
        f"FROM {python_base_image}\n"
        "RUN dpkg --purge --force-depends libgomp1 && ! ldconfig -p | grep -q libgomp\n"
    )
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=base, pull=False, rm=True
    )
    image = build_prediction_image(
        docker_client, copy_context(tmp_path), "numerai-predict:test-nogomp", base
    )
    out = docker_client.containers.run(
        image,
        ["python", "-c", "import lightgbm; print('lightgbm', lightgbm.__version__)"],
        remove=True,
        network_mode="none",
    )
    assert out.decode().startswith("lightgbm 4.")
