"""The longest event-loop stall of the wizard during a whole deploy against the local servers.

Runs the end-to-end wizard test (tests/tui/test_wizard_real.py: the real engines against
the local ARM server, a real dockerd + registry, the Numerai stand-in: sign-in, build, push,
provision, webhook) with a 10 ms timer on the app; a gap between two ticks, less the 10 ms
period, is how long the screen could not answer a key. Two figures:

- while the deploy runs (the Deploy step's build, push, provision and webhook), the
  longest gap. Target: <= 100 ms.
- everywhere else in the walk (drawing each new step after Next, the key and sign-in
  checks), the longest gap, reported beside it.

And what the wizard's collector policy (``collect_young_only``: no full collections once
the app is up) costs in memory by the end of the walk: the garbage a full collection then
finds, and the process's resident size before and after it.

The stand-in servers run in the test's process, so their work competes for the same
interpreter lock as the wizard's: the figures are an upper bound of what a user sees.

    python benchmarks/stall.py [runs]

This file is also the pytest plugin that puts the timer on the app (``-p``).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TARGET = 0.100
PERIOD = 0.010
ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/tui/test_wizard_real.py::test_the_wizard_sets_up_the_pipeline_end_to_end"
REPORT_ENV = "WIZARD_BENCH_STALL_REPORT"  # tests clear NUMERAI_ACI_* variables


# --- the plugin (inside pytest) ---------------------------------------------------------


@pytest.fixture(autouse=True)
def _tick_monitor(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every WizardApp gets a 10 ms timer from its mount on; gaps are written at the end."""
    from numerai_aci_wizard.tui.app import WizardApp, collect_young_only
    from numerai_aci_wizard.tui.screens.deploy import DeployScreen

    #: (gap, the screen at its end, whether the deploy ran at both of its ends)
    gaps: list[tuple[float, str, bool]] = []
    def on_mount(self: Any) -> None:
        collect_young_only()  # as run() does for the installed command (the test builds the app)
        last = [time.perf_counter(), False]

        def tick() -> None:
            now = time.perf_counter()
            screen = self.screen
            deploying = isinstance(screen, DeployScreen) and screen.running
            gaps.append((now - last[0] - PERIOD, type(screen).__name__, deploying and last[1]))
            last[:] = [now, deploying]

        self.set_interval(PERIOD, tick)

    monkeypatch.setattr(WizardApp, "on_mount", on_mount, raising=False)
    yield
    path = os.environ.get(REPORT_ENV)
    resident = _resident_mb()
    left = gc.collect()  # what the policy left for the end of the process
    if path and gaps:
        during = sorted((g for g in gaps if g[2]), reverse=True)
        elsewhere = sorted((g for g in gaps if not g[2]), reverse=True)
        Path(path).write_text(
            json.dumps(
                {
                    "deploy": during[0][0] if during else 0.0,
                    "deploy_ticks": len(during),
                    "deploy_top": [round(g * 1000) for g, _, _ in during[:5]],
                    "elsewhere": elsewhere[0][0],
                    "elsewhere_top": [(round(g * 1000), where) for g, where, _ in elsewhere[:5]],
                    "ticks": len(gaps),
                    "garbage_left": left,
                    "resident_mb": [resident, _resident_mb()],
                }
            ),
            encoding="utf-8",
        )


def _resident_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    pages = int(Path("/proc/self/statm").read_text(encoding="utf-8").split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)


# --- the benchmark (outside) ------------------------------------------------------------


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="stall-") as tmp:
            report = Path(tmp) / "stall.json"
            env = {
                # as installed for a user: bytecode cached, not compiled in a worker thread
                **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                REPORT_ENV: str(report),
                "PYTHONPATH": str(ROOT),
            }
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    TEST,
                    "-q",
                    "-p",
                    "benchmarks.stall",
                    "-p",
                    "no:cacheprovider",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0 or not report.exists():
                print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
                print("the end-to-end wizard run did not pass (dockerd, registry, tmux?)")
                return 1
            results.append(json.loads(report.read_text(encoding="utf-8")))
    during = [r["deploy"] for r in results]
    elsewhere = [r["elsewhere"] for r in results]
    worst = max(results, key=lambda r: r["deploy"])
    worst_elsewhere = max(results, key=lambda r: r["elsewhere"])
    print(
        f"longest event-loop stall while the deploy runs (build, push, provision, webhook): "
        f"{max(during) * 1000:.0f} ms (median of the runs' maxima "
        f"{statistics.median(during) * 1000:.0f} ms over {runs} run(s), "
        f"{worst['deploy_ticks']} ticks); target <= {TARGET * 1000:.0f} ms: "
        f"{'OK' if max(during) <= TARGET else 'OVER'}; the five longest (ms): "
        f"{worst['deploy_top']}"
    )
    print(
        f"elsewhere in the walk (drawing each new step, the checks): longest "
        f"{max(elsewhere) * 1000:.0f} ms (median of the runs' maxima "
        f"{statistics.median(elsewhere) * 1000:.0f} ms); the five longest (ms, screen): "
        f"{worst_elsewhere['elsewhere_top']}"
    )
    print(
        f"memory: a full collection after the walk found {worst['garbage_left']} objects of "
        f"garbage the policy had left; resident {worst['resident_mb'][0]} MB before it, "
        f"{worst['resident_mb'][1]} MB after"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
