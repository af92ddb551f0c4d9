"""First paint of the wizard in a real terminal: launch to the first frame showing the Welcome.

The wizard runs in tmux (a real pty and terminal emulator) at 100x32; the pane is read
every few milliseconds until it shows the Welcome step's heading and its Start button.
Reported: median, min and max over N launches (default 7). Target: median <= 0.5 s on the
project's 2-core machines. Nothing is read from or written to the user's settings.

Beside it, launched in turn with it so both see the same machine, the floor: a Textual app
of nothing but a heading, a button and a footer. What the wizard takes beyond the floor is
its own (its modules, its settings, its larger first screen); the floor is Python and
Textual starting.

    python benchmarks/first_paint.py [runs] [--repo DIR]

``--repo DIR`` measures the package in DIR (e.g. another worktree) with this interpreter.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

TARGET = 0.5
ROOT = Path(__file__).resolve().parent.parent
FLOOR_APP = """\
from textual.app import App
from textual.widgets import Button, Footer, Static


class Floor(App[None]):
    def compose(self):
        yield Static("Step 1 of 8  ·  Welcome")
        yield Button("Start")
        yield Footer()


Floor().run()
"""


def one_launch(repo: Path, tmp: Path, program: str = "-m numerai_aci_wizard") -> float:
    session = f"paint-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", session, "-f", "/dev/null"]
    env = {
        # as installed for a user: bytecode is cached (the warm-up launch writes it)
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "TERM": "xterm-256color",
        "NUMERAI_ACI_OFFLINE_PRICES": "1",
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "NUMERAI_ACI_HOME": str(tmp / "aci-home"),  # the tool's own files, on every OS
    }
    # the server and its empty shell first, so that the clock measures only the wizard
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", session, "-x", "100", "-y", "32", "sleep 60"],
        check=True,
        env=env,
    )
    command = f"cd {repo} && exec {sys.executable} {program} --config {tmp / 'c.toml'}"
    try:
        start = time.perf_counter()
        subprocess.run([*tmux, "respawn-pane", "-k", "-t", session, command], check=True, env=env)
        while True:
            shown = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            ).stdout
            if "Step 1 of 8" in shown and "Start" in shown:
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"no Welcome after 30 s:\n{shown}")
            time.sleep(0.005)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=7)
    parser.add_argument("--repo", type=Path, default=ROOT)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is not installed (apt-get install tmux)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="first-paint-") as tmp:
        floor_app = Path(tmp) / "floor.py"
        floor_app.write_text(FLOOR_APP, encoding="utf-8")
        floor = str(floor_app)
        one_launch(args.repo, Path(tmp))  # warm the OS file cache once
        one_launch(args.repo, Path(tmp), floor)
        times: list[float] = []
        floors: list[float] = []
        for _ in range(args.runs):
            times.append(one_launch(args.repo, Path(tmp)))
            floors.append(one_launch(args.repo, Path(tmp), floor))
    median = statistics.median(times)
    print(
        f"first paint of the Welcome step ({args.repo}): median {median:.3f} s over "
        f"{args.runs} launches (min {min(times):.3f}, max {max(times):.3f}); "
        f"target <= {TARGET:.3f} s: {'OK' if median <= TARGET else 'OVER'}"
    )
    print(
        f"floor (Textual with a heading, a button and a footer, launched in turn): median "
        f"{statistics.median(floors):.3f} s (min {min(floors):.3f}, max {max(floors):.3f}); "
        f"the wizard's own share: {median - statistics.median(floors):+.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
