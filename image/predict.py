#!/usr/bin/env python3
"""Predict the open Numerai round and upload the predictions: the job the container runs.

Numerai's webhook starts the container when a round opens; from then on the submission has
to land within the hour. So this script does only what a live round needs: it downloads the
live features (not the training data), loads a model that was trained elsewhere, predicts,
uploads, and exits 0 only when Numerai accepted the submission (a non-zero exit is what the
user sees in the container's state). Every line it prints is short and says what, how long
and how big, because container logs are all the user has.

Environment:
  NUMERAI_PUBLIC_ID, NUMERAI_SECRET_KEY  the API key (scopes: upload_submission)   required
  NUMERAI_MODEL_ID                       the model to submit for (a UUID)           required
  NUMERAI_API_URL     another API endpoint (a proxy or a test server)
  TRIGGER_ID          sent along with the submission when set (Numerai Compute)
  NUMERAI_MODEL_DIR   where the model lives (default: models/ beside this file)
  NUMERAI_FEATURE_SET feature set for models that do not name their features (default all)
  PREDICT_RETRIES     attempts per network step (default 4)
  PREDICT_RETRY_DELAY first wait between attempts in seconds, doubled each time (default 5)
  PREDICT_TIMEOUT     seconds per API request (default 60)

The model (first found): ``model.pkl`` or ``model.joblib`` (an object with
``predict(DataFrame) -> array``), or ``model.txt`` (a LightGBM booster). None found: Numerai's
example predictions are submitted instead, with a loud warning.

Also runs outside a container: ``python image/predict.py``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
START = time.monotonic()
MODEL_FILES = ("model.pkl", "model.joblib", "model.txt")
REQUIRED_ENV = ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "NUMERAI_MODEL_ID")
_TRANSIENT = re.compile(
    r"internal server error|timed? ?out|temporar|unavailable|try again|bad gateway|rate limit",
    re.IGNORECASE,
)
_LIVE = re.compile(r"^v(\d+)(?:\.(\d+))?(?:\.(\d+))?/live\.parquet$")


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
    numerapi.utils.requests = shim  # type: ignore[assignment]
    numerapi.base_api.requests = shim  # type: ignore[assignment]
    return numerapi.NumerAPI(
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


def latest_version(names: list[str]) -> str:
    """The newest data version that has a live file, e.g. ``v5.2`` (versions move)."""
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
    return max(found)[1]


def download(api: Any, name: str, dest: Path) -> Path:
    t0 = time.monotonic()
    attempt(f"download {name}", lambda: api.download_dataset(name, str(dest)))
    say(f"downloaded {name}: {size(dest)} in {time.monotonic() - t0:.1f} s")
    return dest


# --- the model -------------------------------------------------------------------------------


def find_model(model_dir: Path) -> Path | None:
    for name in MODEL_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    return None


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
    except Exception as exc:
        raise Failure(f"cannot load the model {path.name}: {type(exc).__name__}: {exc}", 2) from exc
    if not callable(getattr(model, "predict", None)):
        raise Failure(f"the model in {path.name} ({type(model).__name__}) has no predict()", 2)
    say(f"model {path.name}: {type(model).__name__}, {size(path)}, {time.monotonic() - t0:.1f} s")
    return model


def model_features(model: Any) -> list[str] | None:
    """The feature names the model was trained on, when it says."""
    for attr in ("feature_names_in_", "feature_name_", "features"):
        names = getattr(model, attr, None)
        if names is not None and len(names) > 0:
            return [str(n) for n in names]
    booster = getattr(model, "booster_", model)
    feature_name = getattr(booster, "feature_name", None)
    if callable(feature_name):
        names = feature_name()
        if names and not all(re.fullmatch(r"Column_\d+", n) for n in names):
            return [str(n) for n in names]
    return None


def choose_features(model: Any, meta: dict[str, Any]) -> list[str]:
    sets = meta.get("feature_sets") or {}
    available = set(sets.get("all") or [])
    names = model_features(model)
    if names is None:
        wanted = os.environ.get("NUMERAI_FEATURE_SET", "").strip() or "all"
        if wanted not in sets:
            known = ", ".join(sorted(sets)) or "none"
            raise Failure(f"NUMERAI_FEATURE_SET={wanted!r} is not in features.json ({known})", 2)
        say(f"the model does not name its features: using feature set {wanted!r}")
        return list(sets[wanted])
    missing = [n for n in names if available and n not in available]
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise Failure(
            f"the model needs {len(missing)} features this round's data lacks ({shown}): "
            "retrain it on the current data version",
            2,
        )
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


def predict_with_model(model: Any, live: Path, meta: dict[str, Any]) -> Any:
    import pandas as pd

    features = choose_features(model, meta)
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


def read_env() -> tuple[str, str, str]:
    missing = [n for n in REQUIRED_ENV if not os.environ.get(n, "").strip()]
    if missing:
        raise Failure(f"missing environment variable(s): {', '.join(missing)}", 2)
    public_id, secret_key, model_id = (os.environ[n].strip() for n in REQUIRED_ENV)
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", model_id):
        raise Failure(f"NUMERAI_MODEL_ID {model_id!r} is not a model id (a UUID)", 2)
    return public_id, secret_key, model_id


def run(work: Path) -> str:
    public_id, secret_key, model_id = read_env()
    model_dir = Path(
        os.environ.get("NUMERAI_MODEL_DIR") or Path(__file__).resolve().parent / "models"
    )
    model_path = find_model(model_dir)
    model = (
        load_model(model_path) if model_path else None
    )  # fail on a bad model before any download

    api = connect(public_id, secret_key)
    round_number = attempt("ask for the current round", api.get_current_round)
    version = latest_version(attempt("list the datasets", api.list_datasets))
    say(f"round {round_number}, data {version}")
    live = download(api, f"{version}/live.parquet", work / "live.parquet")

    if model is not None:
        meta_path = download(api, f"{version}/features.json", work / "features.json")
        meta = json.loads(meta_path.read_text())
        predictions = predict_with_model(model, live, meta)
    else:
        for line in (
            "=" * 64,
            f"WARNING: NO MODEL in {model_dir} (looked for {', '.join(MODEL_FILES)}).",
            "Submitting Numerai's EXAMPLE predictions, not yours.",
            "Put your model there and rebuild the image (see models/README.md).",
            "=" * 64,
        ):
            say(line)
        example = download(
            api, f"{version}/live_example_preds.parquet", work / "live_example_preds.parquet"
        )
        predictions = example_predictions(live, example)

    csv_path = write_csv(predictions, work / "predictions.csv")
    trigger = os.environ.get("TRIGGER_ID", "").strip()
    if not trigger:
        os.environ.pop("TRIGGER_ID", None)  # numerapi would send an empty string
    t0 = time.monotonic()
    submission_id = attempt(
        "upload", lambda: api.upload_predictions(str(csv_path), model_id=model_id)
    )
    detail = f", trigger {trigger}" if trigger else ""
    say(f"uploaded in {time.monotonic() - t0:.1f} s: submission {submission_id} accepted{detail}")
    return str(submission_id)


def main() -> int:
    say(f"numerai predict: python {sys.version.split()[0]}")
    try:
        with tempfile.TemporaryDirectory(prefix="numerai-live-") as tmp:
            run(Path(tmp))
    except Failure as exc:
        say(f"error: {exc}")
        return exc.code
    except KeyboardInterrupt:
        say("error: interrupted")
        return 130
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
