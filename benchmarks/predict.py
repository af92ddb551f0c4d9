"""Peak memory and wall time of image/predict.py on a synthetic live round of the real shape,
for one model and for several models in one run.

The container has an hour from the round opening (cold start, pull, download, predict,
upload) and its memory is what the user pays for, so predict.py must stay small: targets are
<= 600 MB peak RSS whatever the number of models (one model in memory at a time, one copy of
the live data), and <= 20 s per run here plus 5 s for each further model. The run is the real
script as a subprocess against the local Numerai (tests/support/numerai: ~5,000 rows x ~2,400
int8 features): without a model (example predictions), with a small LightGBM booster (medium
and all feature sets), and with 1, 2 and 5 models in one run (a booster of its own per model,
in ``models/<model id>/``), and with a Numerai Model Upload made like hello_numerai's last
cells (a cloudpickled function given the whole live frame). Peak RSS is the child's own
high-water mark (``VmHWM``, read as it exits): its ``ru_maxrss`` would also count the pages of
this benchmark that it shares between fork and exec (~285 MB here, so every scenario read the
same). Each run must land every model's submission and download the live data once.
``PREDICT_SCRIPT`` measures another copy of predict.py (e.g. an older one) on the same harness.

Run: python benchmarks/predict.py [runs]   (from the repository root; default 3 runs)
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.numerai import FakeNumerai, synthetic_round  # noqa: E402
from tests.support.numerai.models import model_upload_pkl, train_lightgbm_txt  # noqa: E402

RSS_TARGET_MB, TIME_TARGET_S, TIME_PER_EXTRA_MODEL_S = 600, 20.0, 5.0
# several models: the peak of one model, plus one model's size (these boosters: ~0.1 MB), plus
# this much slack for the allocators; more means something is kept from model to model
GROWTH_SLACK_MB = 25.0


@dataclass
class Scenario:
    model_dir: Path
    model_ids: list[str]


@dataclass
class Result:
    seconds: float
    rss_mb: float
    code: int
    landed: int
    live_downloads: int


# Runs predict.py as __main__ and writes the process's VmHWM (kB) when it exits.
_PEAK_WRAPPER = """
import atexit, os, runpy, sys

def _peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(os.environ["BENCH_PEAK_FILE"], "w") as out:
                    out.write(line.split()[1])

atexit.register(_peak)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
SCRIPT = Path(os.environ.get("PREDICT_SCRIPT") or ROOT / "image" / "predict.py")


def run_once(server: FakeNumerai, scenario: Scenario) -> Result:
    """One predict.py run, and what the server saw during it (no reset between runs: the
    models added to the account must stay)."""
    subs_before, downloads_before = len(server.submissions), len(server.downloads)
    env = {k: v for k, v in os.environ.items() if k not in ("TRIGGER_ID", "NUMERAI_MODEL_IDS")}
    env.update(server.container_env(scenario.model_ids), NUMERAI_MODEL_DIR=str(scenario.model_dir))
    peak_file = Path(tempfile.mkstemp(prefix="predict-peak-")[1])
    env["BENCH_PEAK_FILE"] = str(peak_file)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _PEAK_WRAPPER, str(SCRIPT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    peak_kb = peak_file.read_text().strip()
    peak_file.unlink()
    rss_mb = int(peak_kb) / 1024 if peak_kb else usage.ru_maxrss / 1024
    new_subs = server.submissions[subs_before:]
    landed = {s.model_id for s in new_subs if s.accepted} & set(scenario.model_ids)
    live = [d for d in server.downloads[downloads_before:] if d.endswith("/live.parquet")]
    return Result(
        seconds,
        rss_mb,
        os.waitstatus_to_exitcode(status),
        len(landed),
        len(live),
    )


def scenarios(server: FakeNumerai, tmp: Path) -> dict[str, Scenario]:
    live_round = server.round
    none = tmp / "none"
    none.mkdir()
    found = {"no model (example predictions)": Scenario(none, [server.model_id])}
    for feature_set in ("medium", "all"):
        folder = tmp / feature_set
        train_lightgbm_txt(live_round, folder / "model.txt", feature_set=feature_set, n_trees=50)
        found[f"LightGBM booster, {feature_set} features"] = Scenario(folder, [server.model_id])
    # a Numerai Model Upload made like hello_numerai's last cells: the whole live frame, era by era
    upload = tmp / "upload"
    model_upload_pkl(live_round, upload / "hello_numerai.pkl")
    found["Model Upload (hello_numerai.pkl)"] = Scenario(upload, [server.model_id])
    # five models on the account, each with a booster of its own (different seeds)
    ids = [m.id for m in server.models if m.tournament == 8]
    while len(ids) < 5:
        ids.append(server.add_model(f"bench_model_{len(ids)}").id)
    boosters = tmp / "boosters"
    for n, model_id in enumerate(ids):
        train_lightgbm_txt(live_round, boosters / model_id / "model.txt", n_trees=50, seed=100 + n)
    for count in (1, 2, 5):
        folder = tmp / f"models-{count}"
        folder.mkdir()
        for model_id in ids[:count]:
            shutil.copytree(boosters / model_id, folder / model_id)
        found[f"{count} model(s), own boosters, medium"] = Scenario(folder, ids[:count])
    return found


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    live_round = synthetic_round()
    print(
        f"synthetic round: {len(live_round.ids)} rows x {len(live_round.features)} int8 features, "
        f"live.parquet {live_round.path('live.parquet').stat().st_size / 2**20:.1f} MB; {runs} runs each"
    )
    failed = False
    one_model_peak: float | None = None
    with tempfile.TemporaryDirectory() as tmp, FakeNumerai(live_round) as server:
        cases = scenarios(server, Path(tmp))
        run_once(server, cases["no model (example predictions)"])  # warm the OS file cache once
        for label, scenario in cases.items():
            results = [run_once(server, scenario) for _ in range(runs)]
            times = [r.seconds for r in results]
            rss = [r.rss_mb for r in results]
            codes = {r.code for r in results}
            n = len(scenario.model_ids)
            time_target = TIME_TARGET_S + TIME_PER_EXTRA_MODEL_S * (n - 1)
            all_landed = all(r.landed == n and r.live_downloads == 1 for r in results)
            growth = ""
            if label.startswith("1 model(s)"):
                one_model_peak = max(rss)
            elif one_model_peak is not None and n > 1:
                extra = max(rss) - one_model_peak
                growth = f", {extra:+.1f} MB vs 1 model"
                largest = max(
                    (scenario.model_dir / i / "model.txt").stat().st_size
                    for i in scenario.model_ids
                )
                all_landed &= extra <= GROWTH_SLACK_MB + largest / 2**20
            ok = (
                codes == {0}
                and all_landed
                and max(rss) <= RSS_TARGET_MB
                and statistics.median(times) <= time_target
            )
            failed |= not ok
            print(
                f"{label:38s} wall median {statistics.median(times):5.2f} s (max {max(times):5.2f}), "
                f"peak RSS max {max(rss):6.1f} MB{growth}, exit {sorted(codes)}, "
                f"{min(r.landed for r in results)}/{n} landed, "
                f"live downloads {max(r.live_downloads for r in results)}: "
                f"{'OK' if ok else 'OVER TARGET'}"
            )
    print(
        f"targets: <= {RSS_TARGET_MB} MB at any number of models; "
        f"(several: within {GROWTH_SLACK_MB:.0f} MB + one model's size of one model's peak); "
        f"<= {TIME_TARGET_S:.0f} s + {TIME_PER_EXTRA_MODEL_S:.0f} s per further model; "
        "every submission accepted by the local Numerai, the live data downloaded once per run"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
