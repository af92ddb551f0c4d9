"""Peak memory and wall time of image/predict.py on a synthetic live round of the real shape.

The container has an hour from the round opening (cold start, pull, download, predict,
upload) and its memory is what the user pays for, so predict.py must stay small: targets are
<= 600 MB peak RSS and <= 20 s per run here. The run is the real script as a subprocess
against the local Numerai (tests/fakes_numerai: ~5,000 rows x ~2,400 int8 features), with a
small LightGBM booster (medium and all feature sets) and without a model (example
predictions). Peak RSS is the child's own ``ru_maxrss`` from ``wait4``.

Run: python benchmarks/predict.py [runs]   (from the repository root; default 3 runs)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes_numerai import FakeNumerai, synthetic_round  # noqa: E402
from tests.fakes_numerai.models import train_lightgbm_txt  # noqa: E402

RSS_TARGET_MB, TIME_TARGET_S = 600, 20.0


def run_once(server: FakeNumerai, model_dir: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one predict.py run."""
    env = {k: v for k, v in os.environ.items() if k != "TRIGGER_ID"}
    env.update(server.container_env(), NUMERAI_MODEL_DIR=str(model_dir))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "image" / "predict.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    live_round = synthetic_round()
    print(
        f"synthetic round: {len(live_round.ids)} rows x {len(live_round.features)} int8 features, "
        f"live.parquet {live_round.path('live.parquet').stat().st_size / 2**20:.1f} MB; {runs} runs each"
    )
    failed = False
    with tempfile.TemporaryDirectory() as tmp, FakeNumerai(live_round) as server:
        scenarios: dict[str, Path] = {"no model (example predictions)": Path(tmp, "none")}
        Path(tmp, "none").mkdir()
        for feature_set in ("medium", "all"):
            folder = Path(tmp, feature_set)
            train_lightgbm_txt(
                live_round, folder / "model.txt", feature_set=feature_set, n_trees=50
            )
            scenarios[f"LightGBM booster, {feature_set} features"] = folder
        run_once(server, Path(tmp, "none"))  # warm the OS file cache once
        for label, folder in scenarios.items():
            results = [run_once(server, folder) for _ in range(runs)]
            times = [r[0] for r in results]
            rss = [r[1] for r in results]
            codes = {r[2] for r in results}
            ok = (
                codes == {0}
                and max(rss) <= RSS_TARGET_MB
                and statistics.median(times) <= TIME_TARGET_S
            )
            failed |= not ok
            print(
                f"{label:38s} wall median {statistics.median(times):5.2f} s (max {max(times):5.2f}), "
                f"peak RSS max {max(rss):6.1f} MB, exit {sorted(codes)}: "
                f"{'OK' if ok else 'OVER TARGET'}"
            )
        accepted = len(server.accepted)
    print(
        f"targets: <= {RSS_TARGET_MB} MB, <= {TIME_TARGET_S:.0f} s; "
        f"{accepted} submissions accepted by the local Numerai"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
