#!/usr/bin/env python3
"""Predict the open Numerai round and upload the predictions, for every model: the container's job.

Numerai's webhook starts the container when a round opens; from then on the submissions have
to land within the hour. So this script does only what a live round needs: it downloads the
live features once (not the training data), then for each model loads the model that was
trained elsewhere, predicts, uploads with that model's id and lets the model go before the
next one (memory: one model at a time, and one copy of the live data). One model's failure
does not stop the others; the exit status is 0 only when every model's submission landed,
and the last lines name each model's outcome (a non-zero exit is what the user sees in the
container's state). Every line it prints is short and says what, how long and how big,
because container logs are all the user has.

Environment:
  NUMERAI_PUBLIC_ID, NUMERAI_SECRET_KEY  the API key (scopes: upload_submission; read_user_info
                                         for the model names)                      required
  NUMERAI_MODEL_IDS   the models to submit for, comma-separated UUIDs               required
  NUMERAI_MODEL_ID    one model id, read when NUMERAI_MODEL_IDS is not set
  NUMERAI_API_URL     another API endpoint (a proxy or a test server)
  TRIGGER_ID          sent along with every submission when set (Numerai Compute)
  NUMERAI_MODEL_DIR   where the models live (default: models/ beside this file)
  NUMERAI_FEATURE_SET feature set for models that do not name their features (default all)
  PREDICT_DATA_VERSION the data version every model uses (e.g. v5.2; the image bakes in the
                      wizard's data_version setting); default: per model, see below
  PREDICT_RETRIES     attempts per network step (default 4)
  PREDICT_RETRY_DELAY first wait between attempts in seconds, doubled each time (default 5)
  PREDICT_TIMEOUT     seconds per API request (default 60)

Each model's file (first found): in ``models/<model name>/`` (the name on numer.ai, read from
the account), else ``models/<model id>/``, else the shared ``models/``: ``model.pkl`` or the
one other ``*.pkl`` (an object with ``predict(DataFrame) -> array``, or a Numerai Model Upload:
a cloudpickled ``predict(live_features[, live_benchmark_models]) -> DataFrame``, called era by
era as Numerai's own runner calls it and held to its rules), ``model.joblib``, or
``model.txt`` (a LightGBM booster). None found: Numerai's example predictions are submitted for
that model, with a loud warning.

Data version, per model: ``models/<model>/data_version`` (one line, e.g. ``v5.0``), else
PREDICT_DATA_VERSION, else the newest listed version whose features.json has every feature the
model names (the newest, for models that name none). Each file is downloaded once per run.

Also runs outside a container: ``python image/predict.py``.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
START = time.monotonic()
# Arrow's own allocator (mimalloc) keeps what each model's read_parquet freed, so a run with
# five models peaked ~70 MB above a run with one; with the C library's allocator and a trim
# after each model (release_memory) the peak stays that of the largest model. Read by pyarrow
# at import, so it is set before any import of it; an explicit setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
MODEL_FILES = ("*.pkl", "model.joblib", "model.txt")
_TRANSIENT = re.compile(
    r"internal server error|timed? ?out|temporar|unavailable|try again|bad gateway|rate limit",
    re.IGNORECASE,
)
_LIVE = re.compile(r"^v(\d+)(?:\.(\d+))?(?:\.(\d+))?/live\.parquet$")
_VERSION = re.compile(r"v\d+(\.\d+){0,2}")


class Failure(Exception):
    """A reason to stop, already phrased for the log; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


def size(path: Path) -> str:
    n = float(path.stat().st_size)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise Failure(f"{name}={raw!r} is not a number", 2) from None


# --- talking to Numerai --------------------------------------------------------------------


class _RequestsWithTimeout:
    """numerapi posts without a timeout; a hung connection must not eat the round's hour."""

    def __init__(self, requests: Any, timeout: float) -> None:
        self._requests = requests
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._requests, name)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return getattr(self._requests, method)(*args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("post", *args, **kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("put", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("get", *args, **kwargs)


def connect(public_id: str, secret_key: str) -> Any:
    """A NumerAPI pointed at NUMERAI_API_URL when set, quiet, with request timeouts."""
    import numerapi
    import numerapi.base_api
    import numerapi.utils
    import requests

    api_url = os.environ.get("NUMERAI_API_URL", "").strip()
    if api_url:
        numerapi.base_api.API_TOURNAMENT_URL = api_url
        say(f"Numerai API: {api_url}")
    timeout = env_number("PREDICT_TIMEOUT", 60)
    shim = _RequestsWithTimeout(requests, timeout)
    numerapi.utils.requests = shim  # type: ignore[attr-defined,assignment]
    numerapi.base_api.requests = shim  # type: ignore[attr-defined,assignment]
    return numerapi.NumerAPI(  # type: ignore[no-untyped-call]
        public_id=public_id, secret_key=secret_key, verbosity="warning", show_progress_bars=False
    )


def _transient(exc: BaseException) -> bool:
    """numerapi turns connection and HTTP errors into ``{}`` (so KeyError 'data')."""
    import requests

    if isinstance(exc, (KeyError, TypeError, requests.RequestException, OSError)):
        return True
    return isinstance(exc, ValueError) and bool(_TRANSIENT.search(str(exc)))


def _explain(exc: BaseException) -> str:
    if isinstance(exc, (KeyError, TypeError)):
        url = os.environ.get("NUMERAI_API_URL", "").strip() or "https://api-tournament.numer.ai"
        return f"cannot reach Numerai at {url} (no answer or an HTTP error)"
    text = str(exc).strip() or type(exc).__name__
    if "session is invalid" in text.lower():
        return (
            f"Numerai refused the API key ({text}): check NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY"
        )
    return text


def attempt(what: str, call: Callable[[], T]) -> T:
    """``call()``, retried with backoff on transient failures, within a fixed budget."""
    tries = max(1, int(env_number("PREDICT_RETRIES", 4)))
    delay = env_number("PREDICT_RETRY_DELAY", 5)
    for n in range(1, tries + 1):
        try:
            return call()
        except Exception as exc:  # classified below; nothing escapes unexplained
            reason = _explain(exc)
            if not _transient(exc) or n == tries:
                suffix = f" (after {n} attempts)" if n > 1 else ""
                raise Failure(f"{what} failed{suffix}: {reason}") from exc
            say(f"{what}: {reason}; retrying in {delay:.0f} s ({n}/{tries})")
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def listed_versions(names: list[str]) -> list[str]:
    """The data versions that have a live file, newest first, e.g. ``["v5.2", "v5.0"]``."""
    found = []
    for name in names:
        match = _LIVE.match(name)
        if match:
            key = tuple(int(g) for g in match.groups() if g is not None)
            found.append((key, name.split("/", 1)[0]))
    if not found:
        raise Failure(
            "Numerai lists no live.parquet for this round yet; try again in a few minutes"
        )
    return [version for _, version in sorted(found, reverse=True)]


def latest_version(names: list[str]) -> str:
    """The newest data version that has a live file, e.g. ``v5.2`` (versions move)."""
    return listed_versions(names)[0]


def download(api: Any, name: str, dest: Path) -> Path:
    t0 = time.monotonic()
    dest.parent.mkdir(parents=True, exist_ok=True)
    attempt(f"download {name}", lambda: api.download_dataset(name, str(dest)))
    say(f"downloaded {name}: {size(dest)} in {time.monotonic() - t0:.1f} s")
    return dest


class Datasets:
    """The round's files, each downloaded at most once per run, whichever models need it."""

    def __init__(self, api: Any, work: Path, listed: list[str]) -> None:
        self.api = api
        self.work = work
        self.listed = set(listed)
        self.versions = listed_versions(listed)
        self._paths: dict[str, Path] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    @property
    def newest(self) -> str:
        return self.versions[0]

    def has(self, version: str, base: str) -> bool:
        return f"{version}/{base}" in self.listed

    def path(self, version: str, base: str) -> Path:
        name = f"{version}/{base}"
        if name not in self._paths:
            self._paths[name] = download(self.api, name, self.work / version / base)
        return self._paths[name]

    def meta(self, version: str) -> dict[str, Any]:
        if version not in self._meta:
            self._meta[version] = json.loads(self.path(version, "features.json").read_text())
        return self._meta[version]

    def features(self, version: str) -> set[str]:
        return set((self.meta(version).get("feature_sets") or {}).get("all") or [])


# --- the model -------------------------------------------------------------------------------


def find_model(model_dir: Path) -> Path | None:
    """``model.pkl``, else the one other ``*.pkl`` (a Model Upload keeps its own name), else
    ``model.joblib``, else ``model.txt``; several other ``.pkl`` files are a mistake to fix."""
    if not model_dir.is_dir():
        return None
    if (model_dir / "model.pkl").is_file():
        return model_dir / "model.pkl"
    pickles = sorted(p for p in model_dir.glob("*.pkl") if p.is_file())
    if len(pickles) > 1:
        shown = ", ".join(p.name for p in pickles)
        raise Failure(
            f"{model_dir.name}/ holds {len(pickles)} .pkl files ({shown}): keep one model per "
            "folder, or name the one to use model.pkl",
            2,
        )
    if pickles:
        return pickles[0]
    for name in MODEL_FILES[1:]:
        if (model_dir / name).is_file():
            return model_dir / name
    return None


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _python_hint(exc: BaseException) -> str:
    """When an exception says a pickled function's compiled code does not fit this Python: the
    Python that made it (as far as the error tells) and the setting that picks the image's."""
    text = str(exc)
    if not isinstance(exc, (TypeError, SystemError, ValueError)) or not re.search(
        r"\bcode\b|opcode|bytecode", text
    ):
        return ""
    here = python_version()
    made = "another Python"
    got = re.search(r"code expected at most (\d+) arguments?, got (\d+)", text)
    if got and int(got.group(2)) > int(got.group(1)):
        made = "a newer Python (3.11 or later)"
    elif re.search(r"code\(\) argument \d+ must be str, not int", text) or (
        got and int(got.group(2)) < int(got.group(1))
    ):
        made = "an older Python (3.10 or earlier)"
    return (
        f". It was made by {made} than this image's {here}: a cloudpickled function runs only "
        "under the Python minor version that pickled it. Set the image's Python to that version "
        '([docker] python = "3.X" in the settings, or --python) and deploy again'
    )


def foreign_bytecode(function: Any) -> bool:
    """True when the function's compiled code has opcodes this Python does not know: it was
    pickled by another Python minor version (running it could crash the interpreter)."""
    import dis
    import types

    code = getattr(function, "__code__", None)
    if code is None:
        return False
    stack = [code]
    try:
        while stack:
            current = stack.pop()
            for instruction in dis.get_instructions(current):
                if instruction.opname.startswith("<"):
                    return True
            stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))
    except Exception:  # bytecode dis cannot even walk is not this Python's
        return True
    return False


def is_upload_function(model: Any) -> bool:
    """A Numerai Model Upload: a callable (usually a cloudpickled function) with no predict()."""
    return callable(model) and not callable(getattr(model, "predict", None))


def load_model(path: Path) -> Any:
    t0 = time.monotonic()
    try:
        if path.suffix == ".txt":
            import lightgbm

            model = lightgbm.Booster(model_file=str(path))
        elif path.suffix == ".joblib":
            import joblib

            model = joblib.load(path)
        else:
            with path.open("rb") as fh:
                model = pickle.load(fh)
    except ModuleNotFoundError as exc:
        raise Failure(
            f"cannot load the model {path.name}: it needs the module {exc.name!r}, which the "
            "image lacks: add its package to models/requirements.txt (or to a "
            "requirements.txt in the model's folder) and deploy again",
            2,
        ) from exc
    except Exception as exc:
        raise Failure(
            f"cannot load the model {path.name}: {type(exc).__name__}: {exc}{_python_hint(exc)}",
            2,
        ) from exc
    if is_upload_function(model):
        if foreign_bytecode(model):
            raise Failure(
                f"cannot run the model {path.name}: "
                + _python_hint(SystemError("its code has opcodes this Python lacks"))[2:],
                2,
            )
        arguments = upload_arguments(model, path)
        kind = "live_features" + (", live_benchmark_models" if arguments == 2 else "")
        say(
            f"model {path.name}: a Numerai Model Upload, {type(model).__name__} "
            f"{getattr(model, '__name__', '')}({kind}), {size(path)}, "
            f"{time.monotonic() - t0:.1f} s"
        )
        return model
    if not callable(getattr(model, "predict", None)):
        raise Failure(
            f"the model in {path.name} ({type(model).__name__}) has no predict() and is not a "
            "function (a Numerai Model Upload is a cloudpickled predict(live_features))",
            2,
        )
    say(f"model {path.name}: {type(model).__name__}, {size(path)}, {time.monotonic() - t0:.1f} s")
    return model


def upload_arguments(function: Any, path: Path) -> int:
    """1 or 2: how a Model Upload is called (as Numerai's runner counts its parameters)."""
    import inspect

    try:
        count = len(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        count = 1
    if count not in (1, 2):
        raise Failure(
            f"the Model Upload in {path.name} takes {count} arguments; Numerai calls it with "
            "1 (live_features) or 2 (live_features, live_benchmark_models)",
            2,
        )
    return count


def model_features(model: Any) -> list[str] | None:
    """The feature names the model was trained on, when it says."""
    for attr in ("feature_names_in_", "feature_name_", "features"):
        names = getattr(model, attr, None)
        if names is not None and not isinstance(names, str) and len(names) > 0:
            return [str(n) for n in names]
    booster = getattr(model, "booster_", model)
    feature_name = getattr(booster, "feature_name", None)
    if callable(feature_name):
        names = feature_name()
        if names and not all(re.fullmatch(r"Column_\d+", n) for n in names):
            return [str(n) for n in names]
    if is_upload_function(model):
        return upload_features(model)
    return None


def upload_features(function: Any) -> list[str] | None:
    """The features a Model Upload's own model was trained on: the function carries the model
    (and often the feature list) it uses, as globals or closure variables."""
    import inspect

    try:
        found = inspect.getclosurevars(function)
    except (TypeError, ValueError):
        return None
    values = [*found.nonlocals.values(), *found.globals.values()]
    for value in values:
        if not callable(value) or hasattr(value, "predict"):
            names = _named_features(value)
            if names:
                return names
    for value in values:
        if (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, str) and v.startswith("feature_") for v in value)
        ):
            return [str(v) for v in value]
    return None


def _named_features(value: Any) -> list[str] | None:
    if not callable(getattr(value, "predict", None)):
        return None
    for attr in ("feature_names_in_", "feature_name_"):
        names = getattr(value, attr, None)
        if names is not None and len(names) > 0:
            return [str(n) for n in names]
    return None


def pinned_version(job: Job, datasets: Datasets) -> tuple[str, str] | None:
    """(version, where the pin comes from), or None when the newest fitting version is wanted."""
    pin, origin = job.pin, f"models/{job.folder}/data_version" if job.folder else ""
    if not pin:
        pin, origin = os.environ.get("PREDICT_DATA_VERSION", "").strip(), "the data_version setting"
    if not pin:
        return None
    if not _VERSION.fullmatch(pin):
        raise Failure(f"{origin} says {pin!r}, which is not a data version like v5.2", 2)
    if pin not in datasets.versions:
        listed = ", ".join(datasets.versions)
        raise Failure(
            f"data version {pin} (pinned by {origin}) has no live file this round "
            f"(listed: {listed})",
            2,
        )
    return pin, origin


def choose_version(job: Job, model: Any, datasets: Datasets) -> tuple[str, list[str] | None]:
    """The data version this model predicts on, and its features when it names them: the pin,
    else the newest listed version whose features.json has all of them, else the newest."""
    names = model_features(model) if model is not None else None
    pinned = pinned_version(job, datasets)
    if pinned is not None:
        version, origin = pinned
        if names:
            missing = [n for n in names if n not in datasets.features(version)]
            if missing:
                raise Failure(
                    f"the model needs {len(missing)} features that {version} (pinned by "
                    f"{origin}) lacks ({_shown(missing)})",
                    2,
                )
        say(f"model {job.label}: data {version} (pinned by {origin})")
        return version, names
    if not names:
        say(f"model {job.label}: data {datasets.newest} (the newest)")
        return datasets.newest, None
    lacking: dict[str, list[str]] = {}
    for version in datasets.versions:
        if not datasets.has(version, "features.json"):
            continue
        missing = [n for n in names if n not in datasets.features(version)]
        if not missing:
            why = "the newest" if version == datasets.newest else "the newest with all of them"
            say(f"model {job.label}: data {version} ({why} of its {len(names)} features)")
            if version != datasets.newest:
                newest_missing = lacking.get(datasets.newest, [])
                say(
                    f"NOTE: {datasets.newest} lacks {len(newest_missing)} of its features "
                    f"({_shown(newest_missing)}): retrain on {datasets.newest} before "
                    f"{version} goes away"
                )
            return version, names
        lacking[version] = missing
    newest_missing = lacking.get(datasets.newest, names)
    raise Failure(
        f"no listed data version has all the model's {len(names)} features: the newest, "
        f"{datasets.newest}, lacks {len(newest_missing)} ({_shown(newest_missing)}); "
        f"retrain it on {datasets.newest}",
        2,
    )


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def choose_features(model: Any, meta: dict[str, Any], names: list[str] | None) -> list[str]:
    sets = meta.get("feature_sets") or {}
    if names is None:
        wanted = os.environ.get("NUMERAI_FEATURE_SET", "").strip() or "all"
        if wanted not in sets:
            known = ", ".join(sorted(sets)) or "none"
            raise Failure(f"NUMERAI_FEATURE_SET={wanted!r} is not in features.json ({known})", 2)
        say(f"the model does not name its features: using feature set {wanted!r}")
        return list(sets[wanted])
    return names


# --- predictions -----------------------------------------------------------------------------


def ranked(values: Any, ids: Any) -> Any:
    """Predictions as ranks in (0, 1]: Numerai scores ranks, and needs values in [0, 1]."""
    import numpy as np
    import pandas as pd

    array = np.asarray(values, dtype="float64")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != len(ids):
        raise Failure(f"the model returned shape {array.shape} for {len(ids)} rows")
    series = pd.Series(array, index=ids)
    bad = int(series.isna().sum())
    if bad == len(series):
        raise Failure("the model predicted NaN for every row")
    result = series.rank(pct=True, method="average")
    if bad:
        say(f"WARNING: the model predicted NaN for {bad} rows; they get the middle rank 0.5")
        result = result.fillna(0.5)
    return result


def predict_with_model(
    model: Any, live: Path, meta: dict[str, Any], names: list[str] | None
) -> Any:
    import pandas as pd

    features = choose_features(model, meta, names)
    t0 = time.monotonic()
    frame = pd.read_parquet(live, columns=features)
    if any(str(dtype) != "int8" for dtype in frame.dtypes):  # older data versions: float
        frame = frame.astype("int8")
    say(
        f"read {frame.shape[0]} rows x {frame.shape[1]} features as int8 in {time.monotonic() - t0:.1f} s"
    )
    t0 = time.monotonic()
    raw = model.predict(frame[features])
    say(f"predicted {frame.shape[0]} rows in {time.monotonic() - t0:.1f} s")
    return ranked(raw, frame.index)


def _upload_result(result: Any, features: Any) -> Any:
    """The era's predictions as a Series by id, or Failure naming the rule the result broke
    (the rules of Numerai's own runner, numerai-predict, plus one row per live id)."""
    import pandas as pd

    rule = "a Model Upload must return a pandas DataFrame with a 'prediction' column"
    if result is None:
        raise Failure(f"the Model Upload returned None: {rule}")
    if not isinstance(result, pd.DataFrame):
        hint = " (return series.to_frame('prediction'))" if isinstance(result, pd.Series) else ""
        raise Failure(
            f"the Model Upload returned a {_type_name(result)}, not a DataFrame: {rule}{hint}"
        )
    if len(result) != len(features):
        raise Failure(
            f"the Model Upload returned {len(result)} rows for {len(features)} live ids: it "
            "must return one row per live id"
        )
    if "prediction" in result.columns:
        column = result["prediction"]
    elif len(result.columns) == 1:
        column = result.iloc[:, 0]
    else:
        shown = ", ".join(str(c) for c in list(result.columns)[:5])
        raise Failure(f"the Model Upload returned columns {shown}: {rule}")
    values = pd.to_numeric(column, errors="coerce")
    nan = int(values.isna().sum())
    if nan:
        raise Failure(
            f"the Model Upload returned NaN (or a non-number) for {nan} of {len(values)} ids: "
            "predictions must not be NaN"
        )
    outside = int((~values.between(0, 1)).sum())
    if outside:
        raise Failure(
            f"the Model Upload returned {outside} values outside [0, 1] (min {values.min():.4g}, "
            f"max {values.max():.4g}): predictions must be between 0 and 1 "
            "(e.g. return predictions.rank(pct=True))"
        )
    if not values.index.equals(features.index) and set(values.index) != set(features.index):
        raise Failure(
            "the Model Upload returned rows whose index is not the live ids: keep "
            "live_features.index as the result's index"
        )
    return values.reindex(features.index).astype("float64")


def _type_name(value: Any) -> str:
    """``pandas.Series``, ``numpy.ndarray``, ``list``: the type as a user would write it."""
    kind = type(value)
    top = kind.__module__.split(".", 1)[0]
    return kind.__name__ if top == "builtins" else f"{top}.{kind.__name__}"


def predict_upload(function: Any, live: Path, benchmarks: Path | None) -> Any:
    """A Numerai Model Upload called as Numerai's runner calls it: the whole live frame, era by
    era, with the benchmark models' predictions for the same ids when it takes two arguments."""
    import pandas as pd

    t0 = time.monotonic()
    frame = pd.read_parquet(live)
    bench = pd.read_parquet(benchmarks) if benchmarks is not None else None
    say(f"read {frame.shape[0]} rows x {frame.shape[1]} columns in {time.monotonic() - t0:.1f} s")
    if bench is not None:
        lacking = frame.index.difference(bench.index)
        if len(lacking):
            raise Failure(
                f"live_benchmark_models.parquet lacks {len(lacking)} of the {len(frame)} live ids"
            )
    t0 = time.monotonic()
    parts = []
    groups = frame.groupby("era", sort=False) if "era" in frame.columns else [(None, frame)]
    for _, era in groups:
        try:
            result = function(era) if bench is None else function(era, bench.loc[era.index])
        except (SystemError, TypeError) as exc:
            hint = _python_hint(exc)
            if not hint:
                raise
            raise Failure(f"the Model Upload failed: {type(exc).__name__}: {exc}{hint}", 2) from exc
        parts.append(_upload_result(result, era))
    predictions = pd.concat(parts) if len(parts) > 1 else parts[0]
    say(f"predicted {len(predictions)} rows in {time.monotonic() - t0:.1f} s")
    return predictions.reindex(frame.index)


def example_predictions(live: Path, example: Path) -> Any:
    import pandas as pd

    ids = pd.read_parquet(live, columns=[]).index
    preds = pd.read_parquet(example)
    column = "prediction" if "prediction" in preds.columns else preds.columns[0]
    aligned = preds[column].reindex(ids)
    missing = int(aligned.isna().sum())
    if missing:
        raise Failure(f"the example predictions lack {missing} of the {len(ids)} live ids")
    return ranked(aligned.to_numpy(), ids)


def write_csv(predictions: Any, path: Path) -> Path:
    frame = predictions.rename("prediction").rename_axis("id").reset_index()
    frame.to_csv(path, index=False)
    say(f"wrote {len(frame)} predictions to {path.name} ({size(path)})")
    return path


# --- the run ---------------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass
class Job:
    """One model of this run: where its model comes from, and how it ended."""

    model_id: str
    name: str | None = None
    source: Path | None = None  # a model file; None: the example predictions
    problem: Failure | None = None  # known before any download (e.g. an empty own folder)
    folder: str | None = None  # its own folder in models/, if it has one
    pin: str | None = None  # the data version models/<folder>/data_version pins
    version: str | None = None  # the data version it predicted on
    submission: str | None = None
    failure: Failure | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.model_id})" if self.name else self.model_id


def read_env() -> tuple[str, str, list[str]]:
    """The keys and the model ids: NUMERAI_MODEL_IDS (comma-separated) or NUMERAI_MODEL_ID."""
    ids_raw = os.environ.get("NUMERAI_MODEL_IDS", "").strip()
    id_var = "NUMERAI_MODEL_IDS" if ids_raw else "NUMERAI_MODEL_ID"
    ids_raw = ids_raw or os.environ.get("NUMERAI_MODEL_ID", "").strip()
    missing = [
        n for n in ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY") if not os.environ.get(n, "").strip()
    ]
    if not ids_raw:
        missing.append("NUMERAI_MODEL_IDS (or NUMERAI_MODEL_ID)")
    if missing:
        raise Failure(f"missing environment variable(s): {', '.join(missing)}", 2)
    model_ids: list[str] = []
    for raw in ids_raw.split(","):
        model_id = raw.strip()
        if not model_id:
            continue
        if not _UUID.fullmatch(model_id):
            raise Failure(f"{id_var}: {model_id!r} is not a model id (a UUID)", 2)
        if model_id.lower() in (m.lower() for m in model_ids):
            say(f"{id_var} names {model_id} twice: it is submitted once")
            continue
        model_ids.append(model_id)
    if not model_ids:
        raise Failure(f"{id_var}={ids_raw!r} holds no model id", 2)
    public_id = os.environ["NUMERAI_PUBLIC_ID"].strip()
    secret_key = os.environ["NUMERAI_SECRET_KEY"].strip()
    return public_id, secret_key, model_ids


def model_names(api: Any, model_ids: list[str]) -> dict[str, str]:
    """model id -> name, from the account; {} when the key may not read it (names are optional)."""
    try:
        by_name = attempt("read the account's model names", api.get_models)
    except Failure as exc:
        cause = exc.__cause__
        refused = cause is not None and "session is invalid" in str(cause).lower()
        if cause is None or refused or _transient(cause):
            raise  # a refused key or no Numerai: nothing else would work either
        say(f"model names unknown ({exc}): looking in models/<model id>/ only")
        return {}
    wanted = {m.lower() for m in model_ids}
    return {str(i).lower(): str(n) for n, i in dict(by_name).items() if str(i).lower() in wanted}


def plan_jobs(model_dir: Path, model_ids: list[str], names: dict[str, str]) -> list[Job]:
    """Each model's own folder (by name, then by id), else the shared model, else the example."""
    shared_problem: Failure | None = None
    try:
        shared = find_model(model_dir)
    except Failure as exc:
        shared, shared_problem = None, exc
    jobs: list[Job] = []
    claimed: set[str] = set()
    for model_id in model_ids:
        job = Job(model_id, names.get(model_id.lower()))
        own = [
            model_dir / key
            for key in (job.name, model_id, model_id.lower())
            if key and (model_dir / key).is_dir()
        ]
        own = list(dict.fromkeys(own))
        claimed.update(p.name for p in own)
        if own:
            if len(own) > 1:
                say(
                    f"model {job.label}: both {own[0].name}/ and {own[1].name}/ exist; using {own[0].name}/"
                )
            job.folder = own[0].name
            pin_file = own[0] / "data_version"
            if pin_file.is_file():
                job.pin = pin_file.read_text(encoding="utf-8", errors="replace").strip() or None
            try:
                job.source = find_model(own[0])
            except Failure as exc:
                job.problem = exc
            else:
                if job.source is None:
                    job.problem = Failure(
                        f"models/{own[0].name}/ holds none of {', '.join(MODEL_FILES)}", 2
                    )
        else:
            job.source = shared
            job.problem = shared_problem
        jobs.append(job)
    if model_dir.is_dir():
        for folder in sorted(model_dir.iterdir()):
            if (
                folder.is_dir()
                and folder.name not in claimed
                and not folder.name.startswith((".", "_"))
            ):
                say(
                    f"WARNING: models/{folder.name}/ belongs to none of this run's models "
                    f"({', '.join(j.name or j.model_id for j in jobs)}): ignored"
                )
    return jobs


def describe(job: Job, model_dir: Path) -> None:
    if job.problem is not None:
        return
    if job.source is not None:
        say(f"model {job.label}: {job.source.relative_to(model_dir.parent)}")
        return
    places = [f"models/{job.name}/"] if job.name else []
    places += [f"models/{job.model_id}/", "models/model.*"]
    for line in (
        "=" * 64,
        f"WARNING: NO MODEL for {job.label}",
        f"(looked in {', '.join(places)} for {', '.join(MODEL_FILES)}).",
        "Submitting Numerai's EXAMPLE predictions for it, not yours.",
        "Put its model there and rebuild the image (see models/README.md).",
        "=" * 64,
    ):
        say(line)


def predict_and_upload(
    api: Any, job: Job, loaded: dict[str, Any], datasets: Datasets, work: Path
) -> str:
    """One model's predictions, uploaded with its id; the submission id.

    The model is taken out of ``loaded`` (or loaded now) so that nothing else holds it: it is
    gone before the upload, and before the next model is loaded. Its data version is chosen
    for it (``choose_version``); each file is downloaded once per run, whoever needs it.
    """
    model = loaded.pop(job.model_id, None)
    if job.source is not None and model is None:
        model = load_model(job.source)
    version, names = choose_version(job, model, datasets)
    job.version = version
    live = datasets.path(version, "live.parquet")
    if job.source is None:
        predictions = example_predictions(
            live, datasets.path(version, "live_example_preds.parquet")
        )
    elif is_upload_function(model):
        two = upload_arguments(model, job.source) == 2
        bench = datasets.path(version, "live_benchmark_models.parquet") if two else None
        predictions = predict_upload(model, live, bench)
    else:
        predictions = predict_with_model(model, live, datasets.meta(version), names)
    del model  # only one model in memory at a time
    csv_path = write_csv(predictions, work / f"predictions-{job.model_id}.csv")
    del predictions
    try:
        t0 = time.monotonic()
        submission_id = attempt(
            "upload",
            lambda: api.upload_predictions(str(csv_path), model_id=job.model_id),
        )
    finally:
        csv_path.unlink(missing_ok=True)
    trigger = os.environ.get("TRIGGER_ID", "")
    detail = f", trigger {trigger}" if trigger else ""
    say(
        f"uploaded for {job.label} in {time.monotonic() - t0:.1f} s: "
        f"submission {submission_id} accepted{detail}"
    )
    return str(submission_id)


def run(work: Path) -> list[Job]:
    """Every model's submission; a model's failure is kept in its Job, the run goes on."""
    public_id, secret_key, model_ids = read_env()
    model_dir = Path(
        os.environ.get("NUMERAI_MODEL_DIR") or Path(__file__).resolve().parent / "models"
    )
    api = connect(public_id, secret_key)
    jobs = plan_jobs(model_dir, model_ids, model_names(api, model_ids))
    say(f"{len(jobs)} model(s): {', '.join(j.label for j in jobs)}")
    for job in jobs:
        describe(job, model_dir)
        if job.problem is not None:
            job.failure, job.problem = job.problem, None
            say(f"error: model {job.label}: {job.failure}")

    # The first model is loaded before any download: a broken file shows at once, and a run
    # with no model left to submit downloads nothing.
    loaded: dict[str, Any] = {}
    pending = [j for j in jobs if j.failure is None]
    if pending and pending[0].source is not None:
        try:
            loaded[pending[0].model_id] = load_model(pending[0].source)
        except Failure as exc:
            pending[0].failure = exc
            say(f"error: model {pending[0].label}: {exc}")
            pending = pending[1:]
    if not pending:
        return jobs

    round_number = attempt("ask for the current round", api.get_current_round)
    datasets = Datasets(api, work, list(attempt("list the datasets", api.list_datasets)))
    say(f"round {round_number}, data versions {', '.join(datasets.versions)}")

    if not os.environ.get("TRIGGER_ID", "").strip():
        os.environ.pop("TRIGGER_ID", None)  # numerapi would send an empty string
    for job in pending:
        if len(jobs) > 1:
            say(f"--- {job.label}")
        try:
            job.submission = predict_and_upload(api, job, loaded, datasets, work)
        except Failure as exc:
            job.failure = exc
            say(f"error: model {job.label}: {exc}")
        except Exception as exc:  # the user's model code: keep going for the other models
            job.failure = Failure(f"{type(exc).__name__}: {exc}")
            say(f"error: model {job.label}: {job.failure}")
        release_memory()  # the model and its frames go before the next model comes in
    return jobs


def release_memory() -> None:
    """Hand what the last model used back to the system, so the next one starts from the same
    footprint (freed memory the allocators keep would add up over models)."""
    gc.collect()
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (musl, macOS): nothing to trim


def summary(jobs: list[Job]) -> int:
    """One line per model, then the exit status: 0 only when every submission landed."""
    failed = [j for j in jobs if j.submission is None]
    if len(jobs) > 1:
        for job in jobs:
            if job.submission is not None:
                on = f" (data {job.version})" if job.version else ""
                say(f"  landed: {job.label}: submission {job.submission}{on}")
            else:
                say(f"  FAILED: {job.label}: {job.failure or 'not run'}")
    if not failed:
        say(f"done: {len(jobs)} of {len(jobs)} submission(s) landed")
        return 0
    names = ", ".join(j.name or j.model_id for j in failed)
    say(f"error: {len(failed)} of {len(jobs)} submission(s) did not land ({names})")
    return max((j.failure.code if j.failure else 1) for j in failed)


def main() -> int:
    say(f"numerai predict: python {sys.version.split()[0]}")
    try:
        with tempfile.TemporaryDirectory(prefix="numerai-live-") as tmp:
            jobs = run(Path(tmp))
    except Failure as exc:
        say(f"error: {exc}")
        return exc.code
    except KeyboardInterrupt:
        say("error: interrupted")
        return 130
    return summary(jobs)


if __name__ == "__main__":
    sys.exit(main())
