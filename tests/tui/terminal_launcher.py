"""Run the wizard in a real terminal with the stand-in engines (for test_terminal.py).

    python -m tests.tui.terminal_launcher CONFIG BLOCK_STEP

The step named BLOCK_STEP never finishes (only a cancel ends it): a deploy is under way
when the test presses Ctrl+Q; ``-`` blocks nothing. Everything after the app (the farewell
lines) is the real ``run()`` of the installed command; then the launcher says how many
deploys reached Azure (``deploys reaching Azure: N``), for the test to count.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from numerai_aci_wizard.tui.app import run
from tests.support.engines import World


def main() -> int:
    config, block = Path(sys.argv[1]), sys.argv[2]
    world = World()
    if block != "-":
        world.block[block] = threading.Event()
    code = run(config, engines=world.engines())
    print(f"deploys reaching Azure: {world.applied.count('create resource_group')}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
