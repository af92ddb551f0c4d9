"""Stand-ins for the Windows calls the run lock makes, so its Windows code runs on any OS.

- :class:`FakeMsvcrt`: ``msvcrt.locking`` semantics (a non-blocking exclusive lock that
  refuses with OSError, an unlock), kept with ``flock`` underneath so two open files
  in one process exclude each other as two Windows handles do.
- :class:`FakeKernel32`: OpenProcess / GetExitCodeProcess / CloseHandle over a table of
  processes: running, exited (with a code), or another user's (OpenProcess is refused
  with ERROR_ACCESS_DENIED); a PID not in the table is refused with
  ERROR_INVALID_PARAMETER, as Windows does for a PID that names no process.
- :class:`SharingViolations`: ``replace`` / ``unlink`` that fail with a sharing violation
  (PermissionError, WinError 32) a given number of times first, as while another process
  (an antivirus, a refused run reading the record) has the file open.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from numerai_aci_wizard.runlock import (
    ERROR_ACCESS_DENIED,
    ERROR_INVALID_PARAMETER,
    STILL_ACTIVE,
)


class FakeMsvcrt:
    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self) -> None:
        import fcntl

        self._fcntl = fcntl
        self.calls: list[tuple[int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1 and os.lseek(fd, 0, os.SEEK_CUR) == 0  # the first byte
        self.calls.append((mode, nbytes))
        if mode == self.LK_NBLCK:
            try:
                self._fcntl.flock(fd, self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
            except OSError:
                raise PermissionError(errno.EACCES, "Permission denied") from None
        elif mode == self.LK_UNLCK:
            self._fcntl.flock(fd, self._fcntl.LOCK_UN)
        else:  # pragma: no cover - the lock never blocks
            raise AssertionError(f"unexpected locking mode {mode}")


class FakeKernel32:
    OTHER_USER = "other-user"

    def __init__(self, processes: dict[int, Any]) -> None:
        self.processes = processes  # pid -> STILL_ACTIVE | exit code | OTHER_USER
        self.open_handles: dict[int, int] = {}  # handle -> pid
        self._last_error = 0
        self._next = 100

    def OpenProcess(self, access: int, inherit: bool, pid: int) -> int:  # noqa: N802
        state = self.processes.get(pid)
        if state is None:
            self._last_error = ERROR_INVALID_PARAMETER
            return 0
        if state == self.OTHER_USER:
            self._last_error = ERROR_ACCESS_DENIED
            return 0
        self._next += 4
        self.open_handles[self._next] = pid
        return self._next

    def last_error(self) -> int:
        return self._last_error

    def exit_code(self, handle: int) -> int | None:
        return int(self.processes[self.open_handles[handle]])

    def CloseHandle(self, handle: int) -> int:  # noqa: N802
        del self.open_handles[handle]
        return 1


def running(*pids: int) -> dict[int, Any]:
    return dict.fromkeys(pids, STILL_ACTIVE)


class SharingViolations:
    """``replace`` fails ``replace_failures`` times, ``unlink`` ``unlink_failures`` times,
    then each does what it says."""

    def __init__(self, replace_failures: int = 0, unlink_failures: int = 0) -> None:
        self.left = {"replace": replace_failures, "unlink": unlink_failures}
        self.attempts = {"replace": 0, "unlink": 0}

    def _violation(self, op: str, path: Path) -> None:
        self.attempts[op] += 1
        if self.left[op] > 0:
            self.left[op] -= 1
            error = PermissionError(
                errno.EACCES,
                "The process cannot access the file because it is being used by another process",
                str(path),
            )
            error.winerror = 32  # type: ignore[attr-defined]
            raise error

    def replace(self, src: Path, dst: Path) -> None:
        self._violation("replace", dst)
        os.replace(src, dst)

    def unlink(self, path: Path) -> None:
        self._violation("unlink", path)
        path.unlink(missing_ok=True)
