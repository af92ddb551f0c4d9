"""One run at a time per subscription + resource group, across processes.

Two deploys (or a deploy and a destroy) on the same resource group would race: one
deletes what the other just wrote, or both create the role assignment. A lock file in
the user state dir, held with the OS's own lock (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows: :class:`PosixLocks`, :class:`WindowsLocks`), says "busy";
the OS drops it when the process dies, so a crashed run never leaves a stale lock. Who holds it (PID, command, since when) is in
a side file beside it, for the refusal's message, replaced whole (never read half
written). A second run is refused at once, it never waits for the lock; only, when it
comes in the instant between the first run taking the lock and writing who it is, it
waits for that record (well under a second) so the refusal names the right process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, Protocol, TypeVar

from .events import ErrorCode, WizardError
from .settings import Settings
from .store import state_dir

#: the commands that write: deploy, destroy and trigger (trigger starts the container)
LOCKED_COMMANDS = ("deploy", "destroy", "trigger")


@dataclass(frozen=True)
class Holder:
    """Who holds the lock (what its side file says; empty when it could not be read)."""

    pid: int = 0
    command: str = ""
    started: str = ""

    def describe(self) -> str:
        if not self.pid:
            return "another run of numerai-aci-wizard"
        what = f"'{self.command}'" if self.command else "a run"
        since = f", since {self.started}" if self.started else ""
        return f"another numerai-aci-wizard {what} (PID {self.pid}{since})"


def lock_paths(settings: Settings) -> tuple[Path, Path]:
    """The lock file and its side file for the settings' subscription + resource group."""
    a = settings.azure
    key = f"{a.subscription_id.strip().lower()}|{a.resource_group.strip().lower()}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = state_dir() / "locks"
    return folder / f"{digest}.lock", folder / f"{digest}.json"


class LockOS(Protocol):
    """What the lock needs from the OS: a non-blocking exclusive lock that dies with the
    process, whether a PID is a running process, and the side file's replace and unlink."""

    def try_lock(self, fh: IO[bytes]) -> bool: ...
    def unlock(self, fh: IO[bytes]) -> None: ...
    def alive(self, pid: int) -> bool: ...
    def replace(self, src: Path, dst: Path) -> None: ...
    def unlink(self, path: Path) -> None: ...


class PosixLocks:
    """``fcntl.flock`` (one per open file, dropped by the kernel with the process)."""

    def __init__(self) -> None:
        self._fcntl: Any = importlib.import_module("fcntl")

    def try_lock(self, fh: IO[bytes]) -> bool:
        try:
            self._fcntl.flock(fh.fileno(), self._fcntl.LOCK_EX | self._fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def unlock(self, fh: IO[bytes]) -> None:
        self._fcntl.flock(fh.fileno(), self._fcntl.LOCK_UN)

    def alive(self, pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
        return True

    @staticmethod
    def replace(src: Path, dst: Path) -> None:
        os.replace(src, dst)

    @staticmethod
    def unlink(path: Path) -> None:
        path.unlink(missing_ok=True)


#: Windows: OpenProcess access right, GetExitCodeProcess's "still running", and the errors
#: OpenProcess gives for a PID that names no process / someone else's process
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
STILL_ACTIVE = 259
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_PARAMETER = 87


class WindowsLocks:
    """``msvcrt.locking`` on the file's first byte (Windows drops it with the process).

    ``os.kill(pid, 0)`` is no probe there (it would terminate the process): a PID is
    alive when OpenProcess finds it and GetExitCodeProcess says it still runs. A file
    another process has open (an antivirus, a refused run reading who holds the lock)
    cannot be replaced or deleted for a moment: a sharing violation, PermissionError.
    ``msvcrt``, ``kernel32`` and ``files`` (``replace``, ``unlink``) may be given: tests run
    this on any OS with stand-ins.
    """

    def __init__(self, msvcrt: Any = None, kernel32: Any = None, files: Any = None) -> None:
        self._msvcrt: Any = msvcrt or importlib.import_module("msvcrt")
        self._kernel32: Any = kernel32
        self._files: Any = files or PosixLocks  # the plain calls, retried here

    def try_lock(self, fh: IO[bytes]) -> bool:
        try:
            fh.seek(0)
            self._msvcrt.locking(fh.fileno(), self._msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def unlock(self, fh: IO[bytes]) -> None:
        fh.seek(0)
        self._msvcrt.locking(fh.fileno(), self._msvcrt.LK_UNLCK, 1)

    def _kernel(self) -> Any:
        if self._kernel32 is None:
            import ctypes

            self._kernel32 = _Kernel32(ctypes)
        return self._kernel32

    def alive(self, pid: int) -> bool:
        kernel = self._kernel()
        handle = kernel.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            # another user's process cannot be opened, but it is there; no such process: gone
            return bool(kernel.last_error() == ERROR_ACCESS_DENIED)
        try:
            code = kernel.exit_code(handle)
            return code is None or code == STILL_ACTIVE
        finally:
            kernel.CloseHandle(handle)

    def replace(self, src: Path, dst: Path) -> None:
        _retry_sharing(lambda: self._files.replace(src, dst))

    def unlink(self, path: Path) -> None:
        _retry_sharing(lambda: self._files.unlink(path))


class _Kernel32:
    """The three kernel32 calls :meth:`WindowsLocks.alive` makes, through ctypes."""

    def __init__(self, ctypes: Any) -> None:
        self._ctypes = ctypes
        dll = ctypes.WinDLL("kernel32", use_last_error=True)
        self.OpenProcess = dll.OpenProcess
        self.OpenProcess.restype = ctypes.c_void_p
        self._get_exit_code = dll.GetExitCodeProcess
        self._get_exit_code.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong)]
        self.CloseHandle = dll.CloseHandle
        self.CloseHandle.argtypes = [ctypes.c_void_p]

    def last_error(self) -> int:
        return int(self._ctypes.get_last_error())

    def exit_code(self, handle: Any) -> int | None:
        code = self._ctypes.c_ulong()
        if not self._get_exit_code(handle, self._ctypes.byref(code)):
            return None  # cannot tell: count it as alive
        return int(code.value)


#: a sharing violation lasts while another process has the file open: a moment
SHARING_RETRIES, SHARING_PAUSE = 20, 0.05


def _retry_sharing(op: Callable[[], None]) -> None:
    for attempt in range(SHARING_RETRIES):
        try:
            op()
            return
        except PermissionError:
            if attempt == SHARING_RETRIES - 1:
                raise
            time.sleep(SHARING_PAUSE)


def native() -> LockOS:
    """This OS's way."""
    if sys.platform == "win32":
        return WindowsLocks()
    else:
        return PosixLocks()


#: Windows: no newline translation on the descriptors os.open makes (0 elsewhere)
_BINARY = getattr(os, "O_BINARY", 0)


def _open(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _BINARY, 0o600)
    return os.fdopen(fd, "r+b", buffering=0)


def read_holder(side: Path) -> Holder:
    try:
        data = json.loads(side.read_text(encoding="utf-8")[:4096])
        return Holder(
            int(data.get("pid", 0)), str(data.get("command", "")), str(data.get("started", ""))
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return Holder()


#: how long a refused run waits for the holder's record (it is written just after the lock)
RECORD_WAIT = 2.0


def current_holder(side: Path, wait: float = RECORD_WAIT, osys: LockOS | None = None) -> Holder:
    """Who holds the lock, by its side file: a record not written yet, or left by a run
    that died, is waited out for up to ``wait`` seconds (then: nobody known)."""
    osys = osys or native()
    deadline = time.monotonic() + wait
    while True:
        found = read_holder(side)
        if found.pid and osys.alive(found.pid):
            return found
        if time.monotonic() >= deadline:
            return Holder()
        time.sleep(0.02)


def refusal(settings: Settings, holder: Holder) -> WizardError:
    a = settings.azure
    return WizardError(
        f"{holder.describe()} is working on resource group {a.resource_group} "
        f"(subscription {a.subscription_id}); one run at a time",
        "wait for it to finish and run again (if that process is gone, run again: "
        "its lock went with it)",
        code=ErrorCode.LOCKED,
    )


def holder(settings: Settings, osys: LockOS | None = None) -> Holder | None:
    """Who holds the lock now (None: nobody). Takes and drops the lock to find out."""
    osys = osys or native()
    lock, side = lock_paths(settings)
    if not lock.exists():
        return None
    try:
        fh = _open(lock)
    except OSError:
        return None
    try:
        if osys.try_lock(fh):
            osys.unlock(fh)
            return None
        # a look ahead (the Review step): never waits
        return current_holder(side, wait=0, osys=osys)
    finally:
        fh.close()


@contextmanager
def hold(settings: Settings, command: str, osys: LockOS | None = None) -> Iterator[None]:
    """Hold the lock for the block; WizardError(LOCKED, exit 2) at once if another run has it.

    The side file is only for a refusal's message: when it cannot be written or removed
    (a sharing violation that outlasts the retries), the run goes on and its outcome stands.
    """
    osys = osys or native()
    lock, side = lock_paths(settings)
    try:
        fh = _open(lock)
    except OSError as exc:
        raise WizardError(
            f"cannot create the run lock {lock} ({exc.strerror or exc})",
            "check that the user state folder is writable",
            code=ErrorCode.NOT_AVAILABLE,
        ) from exc
    try:
        if not osys.try_lock(fh):
            raise refusal(settings, current_holder(side, osys=osys))
        try:
            _write_record(osys, side, command)
            yield
        finally:
            try:
                osys.unlink(side)
            except OSError as exc:  # a stale record is judged by its PID: not worth a failure
                logging.getLogger(__name__).warning("could not remove %s: %s", side, exc)
            with contextlib.suppress(OSError):  # closing the file below drops it as well
                osys.unlock(fh)
    finally:
        fh.close()


def _write_record(osys: LockOS, side: Path, command: str) -> None:
    """Who holds the lock, replaced whole (a reader sees the whole record or none)."""
    me = {
        "pid": os.getpid(),
        "command": command,
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    draft = side.with_name(f"{side.name}.{os.getpid()}.tmp")
    try:
        draft_fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o600)
        with os.fdopen(draft_fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(me))
        osys.replace(draft, side)
    except OSError as exc:
        logging.getLogger(__name__).warning("could not write who holds the lock: %s", exc)
        with contextlib.suppress(OSError):
            draft.unlink(missing_ok=True)


class _HasSettings(Protocol):
    settings: Settings


_S = TypeVar("_S", bound=_HasSettings)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def one_at_a_time(
    command: str,
) -> Callable[[Callable[Concatenate[_S, _P], _R]], Callable[Concatenate[_S, _P], _R]]:
    """Decorate a method of an object with ``settings``: it runs holding the lock."""

    def wrap(fn: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
        def run(obj: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            with hold(obj.settings, command):
                return fn(obj, *args, **kwargs)

        functools.update_wrapper(run, fn)
        return run

    return wrap
