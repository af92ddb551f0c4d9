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
  PREDICT_RETRIES     attempts per network step (default 4)
  PREDICT_RETRY_DELAY first wait between attempts in seconds, doubled each time (default 5)
  PREDICT_TIMEOUT     seconds per API request (default 60)

Each model's file (first found): in ``models/<model name>/`` (the name on numer.ai, read from
the account), else ``models/<model id>/``, else the shared ``models/``: ``model.pkl`` or
``model.joblib`` (an object with ``predict(DataFrame) -> array``), or ``model.txt`` (a LightGBM
booster). None found: Numerai's example predictions are submitted for that model, with a loud
warning.

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
MODEL_FILES = ("model.pkl", "model.joblib", "model.txt")
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

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass
class Job:
    """One model of this run: where its model comes from, and how it ended."""

    model_id: str
    name: str | None = None
    source: Path | None = None  # a model file; None: the example predictions
    problem: Failure | None = None  # known before any download (e.g. an empty own folder)
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
    shared = find_model(model_dir)
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
            job.source = find_model(own[0])
            if job.source is None:
                job.problem = Failure(
                    f"models/{own[0].name}/ holds none of {', '.join(MODEL_FILES)}", 2
                )
        else:
            job.source = shared
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
    api: Any, job: Job, loaded: dict[str, Any], data: dict[str, Any], work: Path
) -> str:
    """One model's predictions, uploaded with its id; the submission id.

    The model is taken out of ``loaded`` (or loaded now) so that nothing else holds it: it is
    gone before the upload, and before the next model is loaded.
    """
    model = loaded.pop(job.model_id, None)
    if job.source is not None:
        if model is None:
            model = load_model(job.source)
        predictions = predict_with_model(model, data["live"], data["meta"])
    else:
        predictions = example_predictions(data["live"], data["example"])
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
    version = latest_version(attempt("list the datasets", api.list_datasets))
    say(f"round {round_number}, data {version}")
    data: dict[str, Any] = {"live": download(api, f"{version}/live.parquet", work / "live.parquet")}
    if any(j.source is not None for j in pending):
        meta_path = download(api, f"{version}/features.json", work / "features.json")
        data["meta"] = json.loads(meta_path.read_text())
    if any(j.source is None for j in pending):
        data["example"] = download(
            api, f"{version}/live_example_preds.parquet", work / "live_example_preds.parquet"
        )

    if not os.environ.get("TRIGGER_ID", "").strip():
        os.environ.pop("TRIGGER_ID", None)  # numerapi would send an empty string
    for job in pending:
        if len(jobs) > 1:
            say(f"--- {job.label}")
        try:
            job.submission = predict_and_upload(api, job, loaded, data, work)
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
                say(f"  landed: {job.label}: submission {job.submission}")
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
