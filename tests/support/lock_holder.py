"""Another process holding the run lock, as a second terminal running deploy would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, time
from numerai_aci_wizard import runlock
from numerai_aci_wizard.settings import Settings
s = Settings()
s.azure.subscription_id, s.azure.resource_group = sys.argv[1], sys.argv[2]
with runlock.hold(s, sys.argv[3]):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@contextmanager
def lock_held_elsewhere(
    subscription_id: str, resource_group: str, command: str = "deploy"
) -> Iterator[int]:
    """Yields the PID of a process that holds the lock until the block ends."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, subscription_id, resource_group, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        yield child.pid
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)
