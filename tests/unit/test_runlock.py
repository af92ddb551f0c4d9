"""One run at a time per subscription + resource group, across processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import pytest

from numerai_aci_wizard import runlock
from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.settings import Settings
from tests.support.lock_holder import lock_held_elsewhere
from tests.support.windows_os import FakeKernel32, FakeMsvcrt, SharingViolations, running

SUB = "00000000-0000-0000-0000-000000000001"


def settings(rg: str = "numerai-rg", sub: str = SUB) -> Settings:
    s = Settings()
    s.azure.subscription_id, s.azure.resource_group = sub, rg
    return s


def test_a_second_run_is_refused_at_once_naming_the_first() -> None:
    with lock_held_elsewhere(SUB, "numerai-rg", "destroy") as pid:
        holder = runlock.holder(settings())
        assert holder is not None and (holder.pid, holder.command) == (pid, "destroy")
        with pytest.raises(WizardError) as info, runlock.hold(settings(), "deploy"):
            pytest.fail("ran while another process held the lock")
        error = info.value
        assert error.code == ErrorCode.LOCKED and error.exit_code == 2
        assert f"PID {pid}" in error.message and "'destroy'" in error.message
        assert "numerai-rg" in error.message
        # another resource group (or subscription) is another lock
        with runlock.hold(settings("other-rg"), "deploy"):
            pass
        with runlock.hold(settings(sub="00000000-0000-0000-0000-000000000002"), "deploy"):
            pass
    # the other process ended: its lock went with it
    assert runlock.holder(settings()) is None
    with runlock.hold(settings(), "deploy"):
        assert runlock.holder(settings()).pid == os.getpid()  # type: ignore[union-attr]


def test_the_lock_is_the_same_for_any_spelling_of_the_names() -> None:
    assert runlock.lock_paths(settings("Numerai-RG")) == runlock.lock_paths(settings(" numerai-rg"))


def test_a_crashed_holder_leaves_no_stale_lock(tmp_path) -> None:
    import subprocess

    from tests.support.lock_holder import _CHILD, ROOT

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, SUB, "numerai-rg", "deploy"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    assert runlock.holder(settings()) is not None
    child.kill()  # SIGKILL; TerminateProcess on Windows
    child.wait(timeout=30)
    assert runlock.holder(settings()) is None  # the OS dropped it with the process
    with runlock.hold(settings(), "deploy"):
        pass


@pytest.mark.linux_only  # POSIX file modes
def test_the_lock_files_are_private() -> None:
    with runlock.hold(settings(), "trigger"):
        lock, side = runlock.lock_paths(settings())
        assert lock.stat().st_mode & 0o777 == 0o600
        assert side.stat().st_mode & 0o777 == 0o600
        assert lock.parent.stat().st_mode & 0o077 == 0
    assert not side.exists()


def _lock_taken_here(s: Settings) -> tuple[IO[bytes], Path]:
    """The lock taken as a winning run takes it, before it has written who it is."""
    lock, side = runlock.lock_paths(s)
    lock.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock, "a+b")  # noqa: SIM115
    assert runlock.native().try_lock(fh)
    return fh, side


def test_a_refusal_in_the_instant_before_the_winner_says_who_it_is_still_names_it() -> None:
    import subprocess
    import threading

    s = settings()
    fh, side = _lock_taken_here(s)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    side.write_text(f'{{"pid": {dead.stdout.strip()}, "command": "destroy"}}')  # a dead run's
    winner = {"pid": os.getpid(), "command": "deploy", "started": "now"}
    late = threading.Timer(0.3, lambda: side.write_text(__import__("json").dumps(winner)))
    late.start()
    try:
        with pytest.raises(WizardError) as info, runlock.hold(s, "trigger"):
            pytest.fail("ran while another run held the lock")
    finally:
        late.join()
        fh.close()
        side.unlink(missing_ok=True)
    assert f"PID {os.getpid()}" in info.value.message and "'deploy'" in info.value.message


# --- Windows: the same lock through msvcrt and kernel32 ------------------------------------


def _windows(processes: dict[int, Any], files: Any = None) -> runlock.WindowsLocks:
    """The Windows implementation: on Windows with the real msvcrt; elsewhere with stand-ins
    for msvcrt and kernel32 (tests/support/windows_os.py)."""
    if sys.platform == "win32":  # pragma: no cover - the Windows CI job
        return runlock.WindowsLocks(files=files)
    return runlock.WindowsLocks(FakeMsvcrt(), FakeKernel32(processes), files)


def test_on_windows_a_second_run_is_refused_naming_the_first() -> None:
    first = _windows(running(os.getpid()))
    with runlock.hold(settings(), "destroy", first):
        second = _windows(running(os.getpid()))
        found = runlock.holder(settings(), second)
        assert found is not None and (found.pid, found.command) == (os.getpid(), "destroy")
        with pytest.raises(WizardError) as info, runlock.hold(settings(), "deploy", second):
            pytest.fail("ran while another run held the lock")
        assert info.value.code == ErrorCode.LOCKED and f"PID {os.getpid()}" in info.value.message
    assert runlock.holder(settings(), _windows(running(os.getpid()))) is None
    assert not runlock.lock_paths(settings())[1].exists()  # the record went with the lock


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in kernel32's process table")
def test_on_windows_a_dead_holders_record_names_no_one_and_a_live_one_is_named() -> None:
    _, side = runlock.lock_paths(settings())
    side.parent.mkdir(parents=True, exist_ok=True)
    exited, gone, someone_elses, live = 4100, 4200, 4300, 4400
    kernel = FakeKernel32({exited: 0, someone_elses: FakeKernel32.OTHER_USER, **running(live)})
    windows = runlock.WindowsLocks(FakeMsvcrt(), kernel)
    for pid, named in ((exited, False), (gone, False), (someone_elses, True), (live, True)):
        side.write_text(f'{{"pid": {pid}, "command": "deploy"}}')
        found = runlock.current_holder(side, wait=0, osys=windows)
        assert (found.pid == pid) is named, pid
        assert found.describe().startswith("another numerai-aci-wizard 'deploy'") is named
    assert kernel.open_handles == {}  # every handle opened was closed


def test_a_sharing_violation_on_the_record_is_retried_and_never_changes_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, side = runlock.lock_paths(settings())
    # replacing the record fails twice (a refused run reading it), then works
    files = SharingViolations(replace_failures=2)
    with runlock.hold(settings(), "deploy", _windows(running(os.getpid()), files)):
        assert runlock.read_holder(side).pid == os.getpid()
    assert files.attempts["replace"] == 3 and not side.exists()

    # removing it never works (an antivirus holds it open): the block's own outcome stands
    files = SharingViolations(unlink_failures=10_000)
    with runlock.hold(settings(), "deploy", _windows(running(os.getpid()), files)):
        outcome = "deployed"
    assert outcome == "deployed" and "could not remove" in caplog.text
    with (
        pytest.raises(ValueError, match="the command's own failure"),
        runlock.hold(settings(), "deploy", _windows(running(os.getpid()), files)),
    ):
        raise ValueError("the command's own failure")
    # and the next run takes the lock as usual
    with runlock.hold(settings(), "deploy", _windows(running(os.getpid()))):
        pass
