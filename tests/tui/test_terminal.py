"""A real terminal: the installed command in tmux shows the welcome screen and quits with Ctrl+Q."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support import need


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_installed_command_opens_the_wizard_in_a_real_terminal_and_quits(tmp_path: Path) -> None:
    need(shutil.which("tmux") is not None, "tmux not installed (apt-get install tmux)")
    command = Path(sys.executable).parent / "numerai-aci-wizard"
    need(command.exists(), f"the package is not installed into {command.parent}")
    session = f"wizard-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "exit-status"
    env = {**os.environ, "TERM": "xterm-256color", "NUMERAI_ACI_OFFLINE_PRICES": "1"}
    tmux = ["tmux", "-L", session, "-f", "/dev/null"]
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "100",
            "-y",
            "40",
            f"{command} --config {tmp_path / 'config.toml'}; echo $? > {status}; sleep 30",
        ],
        check=True,
        env=env,
    )
    try:

        def screen() -> str:
            out = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            )
            return out.stdout

        assert _wait_for(lambda: "Step 1 of 8" in screen() and "Start" in screen()), screen()
        shown = screen()
        assert "Welcome" in shown and "Logic App" in shown and "Start" in shown
        subprocess.run([*tmux, "send-keys", "-t", session, "C-q"], check=True)
        assert _wait_for(lambda: status.exists() and status.read_text().strip() != ""), screen()
        assert status.read_text().strip() == "0"
        assert "Traceback" not in screen()
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
