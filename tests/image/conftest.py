"""Models trained once per session on synthetic data, shared by the predict.py tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.numerai import SyntheticRound
from tests.support.numerai.models import model_upload_pkl, train_lightgbm_txt, train_sklearn_pkl


@pytest.fixture(scope="session")
def booster_dir(numerai_round: SyntheticRound, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only ``model.txt`` (a LightGBM booster on the medium feature set)."""
    folder = tmp_path_factory.mktemp("booster")
    train_lightgbm_txt(numerai_round, folder / "model.txt")
    return folder


@pytest.fixture(scope="session")
def pickle_dir(numerai_round: SyntheticRound, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only ``model.pkl`` (a pickled LGBMRegressor on the small feature set)."""
    folder = tmp_path_factory.mktemp("pickle")
    train_sklearn_pkl(numerai_round, folder / "model.pkl")
    return folder


@pytest.fixture(scope="session")
def hello_numerai_pkl(
    numerai_round: SyntheticRound, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``hello_numerai.pkl``: a Model Upload made exactly like the notebook's last cells
    (LightGBM on the small feature set, ``predict(live_features)``, ``cloudpickle.dumps``)."""
    return model_upload_pkl(numerai_round, tmp_path_factory.mktemp("hello") / "hello_numerai.pkl")


@pytest.fixture(scope="session")
def older_version_pkl(
    numerai_round: SyntheticRound, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The same notebook, trained on the older data version's small feature set (10 of its
    features have other names in the newest version)."""
    old_small = [numerai_round.renamed.get(n, n) for n in _small(numerai_round)]
    dest = tmp_path_factory.mktemp("older") / "trained_on_v5_0.pkl"
    return model_upload_pkl(numerai_round, dest, features=old_small)


def _small(numerai_round: SyntheticRound) -> list[str]:
    meta = json.loads((numerai_round.directory / "features.json").read_text())
    return list(meta["feature_sets"]["small"])
