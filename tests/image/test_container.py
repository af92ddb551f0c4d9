"""The real prediction image: built from image/ by a real dockerd on a locally made Python base,
run with host networking against the local Numerai, judged by the submission that arrived."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import docker.errors
import lightgbm
import pandas as pd
import pytest

from tests.fixtures.python_base import IMAGE_DIR, build_prediction_image, copy_context, wheelhouse
from tests.support.numerai import FakeNumerai
from tests.support.numerai.models import untrained_sklearn_pkl

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


THIRD_MODEL = "aci_broken_model"  # added to the account by the test that runs it


@pytest.fixture(scope="session")
def several_models_image(
    docker_engine: Any,
    python_base_image: str,
    prediction_image: str,  # built first: this one reuses its cached layers
    booster_dir: Path,
    pickle_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """One image for three models, each in a folder named like the model on numer.ai: a
    booster, a pickled estimator, and an estimator that was never fitted (its predict raises)."""
    tmp = tmp_path_factory.mktemp("several-models-image")
    context = copy_context(tmp)
    models = context / "models"
    for name, source in (
        ("aci_test_model", booster_dir / "model.txt"),
        ("aci_test_model_second", pickle_dir / "model.pkl"),
        (THIRD_MODEL, untrained_sklearn_pkl(tmp / "broken" / "model.pkl")),
    ):
        (models / name).mkdir()
        shutil.copy(source, models / name / source.name)
    return build_prediction_image(
        docker_engine.client(), context, "numerai-predict:test-several", python_base_image
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


def _through_the_os_step(dockerfile: str) -> str:
    """The shipped Dockerfile up to its OS step (libgomp, the user), before the Python packages."""
    head, found, _ = dockerfile.partition("\nCOPY requirements.txt ")
    assert found, "the Dockerfile no longer copies requirements.txt before installing it"
    assert "libgomp" in head, "the Dockerfile's OS step no longer sees to libgomp"
    return head + "\n"


def _lightgbm_library(tmp_path: Path) -> Path:
    """LightGBM's own shared library, out of the pinned wheel the image's pip installs."""
    [wheel] = wheelhouse().glob("lightgbm-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [member] = [n for n in archive.namelist() if n.endswith("/lib_lightgbm.so")]
        target = tmp_path / "lib_lightgbm.so"
        target.write_bytes(archive.read(member))
    return target


def test_a_base_without_libgomp_gets_it_installed(
    docker_client: Any, python_base_image: str, tmp_path: Path
) -> None:
    """As on python:3.12-slim: LightGBM's library cannot load without the OS's libgomp.so.1.

    The shipped Dockerfile's own OS step, built on a base without it, installs it: LightGBM's
    library (from the wheel the image installs) loads after that step and not before. Only the
    steps up to it are built: the packages after it take half a minute and prove nothing here.
    """
    base = f"{python_base_image}-nogomp"
    dockerfile = (
        f"FROM {python_base_image}\n"
        "RUN dpkg --purge --force-depends libgomp1 && ! ldconfig -p | grep -q libgomp\n"
    )
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=base, pull=False, rm=True
    )
    library = _lightgbm_library(tmp_path)

    def load_lightgbm(image: str) -> str:
        return docker_client.containers.run(
            image,
            ["python3", "-c", "import ctypes; ctypes.CDLL('/lib_lightgbm.so'); print('loaded')"],
            volumes={str(library): {"bind": "/lib_lightgbm.so", "mode": "ro"}},
            remove=True,
            network_mode="none",
        ).decode()

    with pytest.raises(docker.errors.ContainerError, match=r"libgomp\.so\.1"):
        load_lightgbm(base)
    context = copy_context(tmp_path)
    (context / "Dockerfile").write_text(
        _through_the_os_step(IMAGE_DIR.joinpath("Dockerfile").read_text())
    )
    image = build_prediction_image(docker_client, context, "numerai-predict:test-nogomp", base)
    assert load_lightgbm(image).strip() == "loaded"


def ranked_predictions(server: FakeNumerai, model_file: Path) -> dict[str, float]:
    if model_file.suffix == ".txt":
        model: Any = lightgbm.Booster(model_file=str(model_file))
        features = model.feature_name()
    else:
        model = pd.read_pickle(model_file)
        features = list(model.feature_names_in_)
    live = pd.read_parquet(
        server.round.files[f"{server.round.version}/live.parquet"], columns=features
    )
    return pd.Series(model.predict(live), index=live.index).rank(pct=True).to_dict()


def test_one_container_run_submits_for_two_models_from_one_download(
    docker_client: Any,
    several_models_image: str,
    booster_dir: Path,
    pickle_dir: Path,
    numerai_server: FakeNumerai,
) -> None:
    first, second = numerai_server.models[:2]
    env = {**numerai_server.container_env([first.id, second.id]), "TRIGGER_ID": "t-9"}
    code, logs = run(docker_client, several_models_image, env)
    assert code == 0, logs
    subs = {s.model_id: s for s in numerai_server.accepted}
    assert sorted(subs) == sorted([first.id, second.id]) and not numerai_server.rejected, logs
    assert subs[first.id].predictions() == pytest.approx(
        ranked_predictions(numerai_server, booster_dir / "model.txt")
    )
    assert subs[second.id].predictions() == pytest.approx(
        ranked_predictions(numerai_server, pickle_dir / "model.pkl")
    )
    assert {s.trigger_id for s in subs.values()} == {"t-9"}
    assert numerai_server.downloaded("live.parquet") == 1
    assert "done: 2 of 2 submission(s) landed" in logs


def test_a_model_that_raises_in_the_container_fails_the_run_but_not_the_other_model(
    docker_client: Any, several_models_image: str, numerai_server: FakeNumerai
) -> None:
    broken = numerai_server.add_model(THIRD_MODEL)
    first = numerai_server.models[0]
    code, logs = run(
        docker_client, several_models_image, numerai_server.container_env([broken.id, first.id])
    )
    assert code == 1, logs
    [sub] = numerai_server.submissions
    assert sub.accepted and sub.model_id == first.id, logs
    assert f"FAILED: {THIRD_MODEL} ({broken.id}): NotFittedError" in logs
    assert numerai_server.downloaded("live.parquet") == 1
