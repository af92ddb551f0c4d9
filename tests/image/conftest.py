"""Models trained once per session on synthetic data, shared by the predict.py tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes_numerai import SyntheticRound
from tests.fakes_numerai.models import train_lightgbm_txt, train_sklearn_pkl


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
