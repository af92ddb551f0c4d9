"""A real terminal (tmux): the installed command shows the Welcome and quits with Ctrl+Q, at
100x40 and at 80x24; Ctrl+Q mid-deploy asks, stops, and leaves the state on the terminal; and
the whole first-time setup, keys only, ends on Done after exactly one deploy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from numerai_aci_wizard.store import save
from tests.support import need
from tests.tui.conftest import FULL_ENV, answered

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.linux_only  # tmux and a POSIX shell


def _wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


class Terminal:
    def __init__(self, tmux: list[str], session: str, status: Path) -> None:
        self.tmux, self.session, self.status = tmux, session, status

    def screen(self) -> str:
        out = subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-J", "-S", "-100", "-t", self.session],
            capture_output=True,
            text=True,
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", self.session, *keys], check=True)

    def shows(self, *texts: str, timeout: float = 60.0) -> bool:
        return _wait_for(lambda: all(t in self.screen() for t in texts), timeout)

    def exit_status(self) -> str:
        assert _wait_for(lambda: self.status.exists() and self.status.read_text().strip() != ""), (
            self.screen()
        )
        return self.status.read_text().strip()


@contextmanager
def terminal(
    command: str, tmp_path: Path, size: tuple[int, int], env: dict[str, str] | None = None
) -> Iterator[Terminal]:
    need(shutil.which("tmux") is not None, "tmux not installed (apt-get install tmux)")
    session = f"wizard-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "exit-status"
    full_env = {
        **os.environ,
        "TERM": "xterm-256color",
        "NUMERAI_ACI_OFFLINE_PRICES": "1",
        "NUMERAI_ACI_HOME": str(tmp_path / "aci-home"),
        **(env or {}),
    }
    tmux = ["tmux", "-L", session, "-f", "/dev/null"]
    subprocess.run(
        [
            *tmux,
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            str(size[0]),
            "-y",
            str(size[1]),
            f"cd {ROOT} && {command}; echo $? > {status}; sleep 30",
        ],
        check=True,
        env=full_env,
    )
    try:
        yield Terminal(tmux, session, status)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


@pytest.mark.parametrize("size", [(100, 40), (80, 24)], ids=["100x40", "80x24"])
def test_installed_command_opens_the_wizard_in_a_real_terminal_and_quits(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    command = Path(sys.executable).parent / "numerai-aci-wizard"
    need(command.exists(), f"the package is not installed into {command.parent}")
    with terminal(f"{command} --config {tmp_path / 'config.toml'}", tmp_path, size) as term:
        assert term.shows("Step 1 of 8", "Start"), term.screen()
        shown = term.screen()
        assert "Welcome" in shown and "Logic App" in shown and "Quit" in shown
        # the diagram is whole at 80 columns: its right border is on screen
        assert "billing stops) │" in shown, shown
        term.keys("C-q")
        assert term.exit_status() == "0"
        assert "Traceback" not in term.screen()


def test_ctrl_q_mid_deploy_asks_stops_and_says_what_azure_holds(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    save(answered(), config)
    command = f"{sys.executable} -m tests.tui.terminal_launcher {config} workflow"
    with terminal(command, tmp_path, (80, 24), env=FULL_ENV) as term:
        assert term.shows("Step 1 of 8", "Start"), term.screen()
        term.keys("Enter")  # Start
        for step in ("Step 2 of 8", "Step 3 of 8", "Step 4 of 8", "Step 5 of 8", "Step 6 of 8"):
            assert term.shows(step), term.screen()
            term.keys("C-n")
        assert term.shows("Step 7 of 8", "Logic App startaci"), term.screen()
        term.keys("C-q")
        assert term.shows("Quit while deploying?", "Stop and quit"), term.screen()
        term.keys("BTab", "Enter")  # from "Keep deploying" to "Stop and quit"
        assert term.exit_status() == "1", term.screen()
        shown = term.screen()
        assert "stopped at a safe point" in shown
        assert "not finished  Logic App startaci" in shown
        assert "repairs the rest" in shown and "Traceback" not in shown


@pytest.mark.parametrize("size", [(80, 24), (100, 32)], ids=["80x24", "100x32"])
def test_first_time_setup_enter_on_deploy_ends_on_done_after_one_deploy(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """No settings file; the keys in the environment; every button pressed with Enter."""
    config = tmp_path / "config.toml"
    command = f"{sys.executable} -m tests.tui.terminal_launcher {config} -"
    with terminal(command, tmp_path, size, env=FULL_ENV) as term:
        assert term.shows("Step 1 of 8", "Start"), term.screen()
        term.keys("Enter")  # Start
        assert term.shows("Step 2 of 8", "Check keys"), term.screen()
        term.keys("Tab", "Tab", "Enter")  # past the two keys (from the environment): Check keys
        assert term.shows("Keys work: account ada"), term.screen()
        term.keys("Space")  # the model list has the cursor on its first model: tick it
        assert term.shows("✓▌ ada_model"), term.screen()
        term.keys("C-n")
        assert term.shows("Step 3 of 8", "Sign in to Azure"), term.screen()
        term.keys("Enter")  # Sign in to Azure
        # signed in: the subscription list is filled (the step may have scrolled past the
        # "Signed in as" line to the region, where the cursor lands)
        assert term.shows("Pay-As-You-Go  (00000000"), term.screen()
        for _ in range(3):  # as a person does when a key landed before the list was ready
            term.keys("Enter")  # the region list (the one subscription is chosen): open it
            assert term.shows("West Europe"), term.screen()  # only the open list shows it
            term.keys("Down", "Enter")  # its first region
            assert _wait_for(lambda: "West Europe" not in term.screen()), term.screen()
            if (
                term.shows("East US  (eastus)", timeout=15)
                or "Choose a region" not in term.screen()
            ):
                break
        assert term.shows("East US  (eastus)"), term.screen()
        term.keys("C-n")
        assert term.shows("Step 4 of 8"), term.screen()
        term.keys("C-n")
        assert term.shows("Step 5 of 8", "Registry username"), term.screen()
        term.keys("-l", "ada1/numerai-predict:latest")
        assert term.shows("ada1/numerai-predict:latest"), term.screen()
        term.keys("Tab")
        time.sleep(1.0)  # the cursor moves to the username field before it is typed
        term.keys("-l", "ada1")
        assert term.shows("▊  ada1 "), term.screen()
        term.keys("C-n")
        assert term.shows("Step 6 of 8", "rows below"), term.screen()
        term.keys("Enter")  # Deploy: the button has the cursor
        assert term.shows("Step 7 of 8", "Deploy finished."), term.screen()
        assert "one run at a time" not in term.screen()
        term.keys("Enter")  # Continue
        assert term.shows("Step 8 of 8", "Webhook URL"), term.screen()
        term.keys("C-q")
        assert term.exit_status() == "0", term.screen()
        shown = term.screen()
        assert "deploys reaching Azure: 1" in shown, shown
        assert "sig=FAKE-SIGNATURE" in shown and "Traceback" not in shown
