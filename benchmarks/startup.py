"""How long `numerai-aci-wizard --help` takes, start to exit (median of several runs).

Target: <= 0.3 s on the project's 2-core machines. Run: python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    exe = shutil.which("numerai-aci-wizard")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "numerai_aci_wizard", "--help"]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the OS file cache once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(
        f"{' '.join(cmd)}: median {median:.3f} s over {runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}); target <= 0.300 s: "
        f"{'OK' if median <= 0.3 else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
