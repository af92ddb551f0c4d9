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


# --- Numerai Model Uploads ------------------------------------------------------------------

# The last cells of Numerai's hello_numerai notebook (numerai/example-scripts), as a user runs
# them: a LightGBM model trained on the small feature set, the prediction pipeline as a
# function of the live features, serialized with cloudpickle. Run in a namespace named
# ``__main__`` like a notebook's, so cloudpickle stores the function and the globals it uses
# (``model``, ``features``) by value, exactly as it does for the notebook.
HELLO_NUMERAI_CELLS = """
import cloudpickle
import lightgbm as lgb
import pandas as pd

model = lgb.LGBMRegressor(
    n_estimators=40, learning_rate=0.05, max_depth=5, num_leaves=2**5 - 1,
    colsample_bytree=0.5, verbose=-1,
)
model.fit(train[features], train["target"])

def predict(live_features: pd.DataFrame) -> pd.DataFrame:
    live_predictions = model.predict(live_features[features])
    submission = pd.Series(live_predictions, index=live_features.index)
    return submission.to_frame("prediction")

p = cloudpickle.dumps(predict)
"""


def numerai_targets(live_round: SyntheticRound, features: list[str], n_rows: int, seed: int) -> Any:
    """A training frame over ``features`` whose ``target`` is like Numerai's: 0, .25, ... 1."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    train = pd.DataFrame(
        rng.integers(0, 5, size=(n_rows, len(features)), dtype=np.int8), columns=features
    )
    signal = train[features[:5]].mean(axis=1).to_numpy(dtype=float) / 4
    noisy = np.clip(signal + rng.normal(0, 0.15, n_rows), 0, 1)
    train["target"] = np.round(noisy * 4) / 4
    return train


def model_upload_pkl(
    live_round: SyntheticRound,
    dest: Path,
    *,
    features: list[str] | None = None,
    source: str = HELLO_NUMERAI_CELLS,
    n_rows: int = 2_000,
    seed: int = 5,
    **names: Any,
) -> Path:
    """A ``.pkl`` made like a Numerai Model Upload: ``source`` (by default the hello_numerai
    cells) run as a notebook runs it, with ``train`` and ``features`` (the small feature set
    unless given) defined; it must leave the pickled bytes in ``p``. ``names`` are further
    globals the cells may use."""
    meta = json.loads((live_round.directory / "features.json").read_text())
    chosen = features or meta["feature_sets"]["small"]
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "train": numerai_targets(live_round, chosen, n_rows, seed),
        "features": chosen,
        **names,
    }
    exec(compile(source, "<notebook>", "exec"), namespace)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(namespace["p"])
    return dest


def upload_function_pkl(dest: Path, source: str, **names: Any) -> Path:
    """A cloudpickled function ``predict`` defined by ``source`` in a notebook-like namespace
    (for the shapes a Model Upload can take: two arguments, wrong results...)."""
    import cloudpickle

    namespace: dict[str, Any] = {"__name__": "__main__", **names}
    exec(compile(source, "<notebook>", "exec"), namespace)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(cloudpickle.dumps(namespace["predict"]))
    return dest


def pickle_from_python_310(dest: Path) -> Path:
    """A pickle holding a function's compiled code the way cloudpickle writes it under Python
    3.8-3.10: ``CodeType`` rebuilt from 16 arguments (3.11 added ``co_qualname`` and
    ``co_exceptiontable``: 18). Loading it under 3.11 or later fails as a real 3.10 Model
    Upload does (``TypeError: code() argument 13 must be str, not int``)."""
    import pickle
    import sys

    from cloudpickle import cloudpickle as cp

    assert sys.version_info >= (3, 11), "this stands for a pickle from an older Python"

    def predict(live_features: Any) -> Any:
        return live_features

    code = predict.__code__
    args = (
        code.co_argcount,
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_nlocals,
        code.co_stacksize,
        code.co_flags,
        code.co_code,
        code.co_consts,
        code.co_names,
        code.co_varnames,
        code.co_filename,
        code.co_name,
        code.co_firstlineno,
        code.co_linetable,
        code.co_freevars,
        code.co_cellvars,
    )

    class CodeTypeByName:  # pickled as cloudpickle pickles types.CodeType
        def __call__(self, *a: Any) -> None:
            pass

        def __reduce__(self) -> Any:
            return (cp._builtin_type, ("CodeType",))

    class OldCode:
        def __reduce__(self) -> Any:
            return (CodeTypeByName(), args)

    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(pickle.dumps(OldCode(), protocol=5))
    return dest
