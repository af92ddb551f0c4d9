"""Small models trained on synthetic data, to exercise the prediction script's model paths.

A user trains on Numerai's training data elsewhere and copies the result into
``image/models/``; the tests and benchmarks need the same kinds of file without that data:
a LightGBM booster (``model.txt``) and a pickled scikit-learn style estimator (``model.pkl``).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from .round_data import SyntheticRound


def _training_data(
    live_round: SyntheticRound, feature_set: str, n_rows: int, seed: int
) -> tuple[Any, Any]:
    """Features (a DataFrame) and a target that depends on a few of them."""
    import numpy as np
    import pandas as pd

    meta = json.loads((live_round.directory / "features.json").read_text())
    features = meta["feature_sets"][feature_set]
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        rng.integers(0, 5, size=(n_rows, len(features)), dtype=np.int8), columns=features
    )
    signal = x[features[: min(5, len(features))]].sum(axis=1).to_numpy(dtype=float)
    y = (signal + rng.normal(0, 1, n_rows)) / (4 * min(5, len(features)) + 4)
    return x, y


def train_lightgbm_txt(
    live_round: SyntheticRound,
    dest: Path,
    *,
    feature_set: str = "medium",
    n_rows: int = 2_000,
    n_trees: int = 30,
    seed: int = 7,
) -> Path:
    """A LightGBM booster saved as text (``model.txt``), named features included."""
    import lightgbm

    x, y = _training_data(live_round, feature_set, n_rows, seed)
    params = {"objective": "regression", "num_leaves": 15, "learning_rate": 0.1, "verbose": -1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, y), num_boost_round=n_trees)
    dest.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(dest))
    return dest


def train_sklearn_pkl(
    live_round: SyntheticRound,
    dest: Path,
    *,
    feature_set: str = "small",
    n_rows: int = 1_000,
    seed: int = 11,
) -> Path:
    """A pickled LGBMRegressor fitted on a DataFrame (so it knows its feature names)."""
    import lightgbm

    x, y = _training_data(live_round, feature_set, n_rows, seed)
    model = lightgbm.LGBMRegressor(n_estimators=20, num_leaves=7, verbose=-1).fit(x, y)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as fh:
        pickle.dump(model, fh)
    return dest


def untrained_sklearn_pkl(dest: Path) -> Path:
    """A pickled scikit-learn estimator that was never fitted: it loads, but ``predict`` raises
    (``NotFittedError``), as a user's model that breaks on the live round would."""
    from sklearn.linear_model import LinearRegression

    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as fh:
        pickle.dump(LinearRegression(), fh)
    return dest
