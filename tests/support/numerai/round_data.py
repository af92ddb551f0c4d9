"""A synthetic live round with the shape of Numerai's real one, generated once and cached.

Real live data is a few thousand rows of about 2,400 int8 features (values 0-4), string
ids as the index, ``era`` and ``data_type`` columns and NaN targets. Our prediction script
must cope with exactly that (read only the columns it needs, as int8), so the fake serves
the same shape. Beside it: ``live_benchmark_models.parquet`` (one column per Numerai benchmark
model, values in [0, 1], indexed by the same ids, as a Model Upload's second argument gets it),
and the same round as an *older* data version would serve it, where some features still have
their old names (Numerai renames features between versions: a model trained on the older
version needs that version's live file). Generation takes a few seconds; the files are cached under
``$ACI_WIZARD_TEST_CACHE`` so every test session after the first reuses them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

N_ROWS = 5_000
N_FEATURES = 2_376  # v5's "all" feature set is about this size
SMALL, MEDIUM = 42, 705
DATA_VERSION = "v5.2"
SEED = 20261129
N_RENAMED = 10  # features of the small set that the older version named differently
BENCHMARK_MODELS = ("v5_lgbm_ct_blend", "v52_lgbm_teager2b20", "v5_lgbm_cyrusd20")
OLDER = "older"  # the subfolder holding the older version's files
_FORMAT = 2  # bump when the layout below changes, so stale caches are ignored


def cache_root() -> Path:
    return Path(os.environ.get("ACI_WIZARD_TEST_CACHE") or "/tmp/numerai-aci-wizard-test-cache")


@dataclass(frozen=True)
class SyntheticRound:
    """Where the files of one synthetic round live, and what they hold."""

    directory: Path
    version: str
    features: list[str]
    ids: list[str]
    #: current feature name -> the name the older data version gave it
    renamed: dict[str, str]

    def path(self, name: str) -> Path:
        """``name`` without its version prefix, e.g. ``live.parquet``."""
        return self.directory / name

    @property
    def files(self) -> dict[str, Path]:
        """Dataset names as Numerai lists them (``v5.2/live.parquet``) -> local file."""
        return {f"{self.version}/{n}": self.directory / n for n in FILES}

    def older_file(self, base: str) -> Path:
        """The older data version's ``base`` (``live.parquet``...): the same round, old names."""
        return self.directory / OLDER / base

    @property
    def old_features(self) -> list[str]:
        """The older version's feature names (the current ones, some renamed back)."""
        return [self.renamed.get(n, n) for n in self.features]


FILES = (
    "live.parquet",
    "features.json",
    "live_example_preds.parquet",
    "live_benchmark_models.parquet",
)


def feature_names(n: int = N_FEATURES) -> list[str]:
    return [f"feature_{i:04d}" for i in range(n)]


def _generate(directory: Path, n_rows: int, n_features: int, version: str) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    names = feature_names(n_features)
    ids = [f"n{v:015x}" for v in rng.choice(2**60, size=n_rows, replace=False)]
    values = rng.integers(0, 5, size=(n_rows, n_features), dtype=np.int8)
    frame = pd.DataFrame(values, columns=names, index=pd.Index(ids, name="id"))
    frame.insert(0, "era", "1185")
    frame.insert(1, "data_type", "live")
    frame["target"] = np.full(n_rows, np.nan, dtype=np.float32)
    frame["target_cyrusd_20"] = np.full(n_rows, np.nan, dtype=np.float32)
    frame.to_parquet(directory / "live.parquet")

    shuffled = list(rng.permutation(names))
    feature_sets = {
        "small": sorted(shuffled[:SMALL]),
        "medium": sorted(shuffled[:MEDIUM]),
        "all": names,
    }
    meta = {"feature_sets": feature_sets, "targets": ["target", "target_cyrusd_20"]}
    (directory / "features.json").write_text(json.dumps(meta))

    example = pd.DataFrame({"prediction": rng.random(n_rows)}, index=pd.Index(ids, name="id"))
    example.to_parquet(directory / "live_example_preds.parquet")
    # Numerai's file lists the ids in its own order: shuffled, so alignment is exercised
    order = rng.permutation(n_rows)
    benchmarks = pd.DataFrame(
        {name: rng.random(n_rows).astype("float32") for name in BENCHMARK_MODELS},
        index=pd.Index([ids[i] for i in order], name="id"),
    )
    benchmarks.to_parquet(directory / "live_benchmark_models.parquet")

    renamed = {n: n.replace("feature_", "feature_old_") for n in feature_sets["small"][:N_RENAMED]}
    older = directory / OLDER
    older.mkdir()
    frame.rename(columns=renamed).to_parquet(older / "live.parquet")
    old_sets = {k: [renamed.get(n, n) for n in v] for k, v in feature_sets.items()}
    (older / "features.json").write_text(json.dumps({**meta, "feature_sets": old_sets}))
    example.to_parquet(older / "live_example_preds.parquet")
    benchmarks.to_parquet(older / "live_benchmark_models.parquet")
    (directory / "renamed.json").write_text(json.dumps(renamed))
    (directory / "ids.json").write_text(json.dumps(ids))


def synthetic_round(
    n_rows: int = N_ROWS, n_features: int = N_FEATURES, version: str = DATA_VERSION
) -> SyntheticRound:
    """The cached round of this shape, generated (atomically) on first use."""
    directory = cache_root() / f"numerai-round-f{_FORMAT}-{version}-{n_rows}x{n_features}"
    if not (directory / "ids.json").is_file():
        directory.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=directory.name + ".", dir=directory.parent))
        try:
            _generate(work, n_rows, n_features, version)
            work.chmod(0o755)  # mkdtemp makes it private; other users' runs read the cache too
            # another process may have won the race: then use its copy
            with contextlib.suppress(OSError):
                work.rename(directory)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    ids = json.loads((directory / "ids.json").read_text())
    renamed = json.loads((directory / "renamed.json").read_text())
    return SyntheticRound(directory, version, feature_names(n_features), ids, renamed)
