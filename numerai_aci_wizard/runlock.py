"""One run at a time per subscription + resource group, across processes.

Two deploys (or a deploy and a destroy) on the same resource group would race: one
deletes what the other just wrote, or both create the role assignment. A lock file in
the user state dir, held with the OS's own advisory lock (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows), says "busy"; the OS drops it when the process dies, so
a crashed run never leaves a stale lock. Who holds it (PID, command, since when) is in
a side file beside it, for the refusal's message, replaced whole (never read half
written). A second run is refused at once, it never waits for the lock; only, when it
comes in the instant between the first run taking the lock and writing who it is, it
waits for that record (well under a second) so the refusal names the right process.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Concatenate, ParamSpec, Protocol, TypeVar

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


def _try_lock(fh: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fh: IO[bytes]) -> None:
    if sys.platform == "win32":  # pragma: no cover
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _open(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(fd, "r+b", buffering=0)


def read_holder(side: Path) -> Holder:
    try:
        data = json.loads(side.read_text(encoding="utf-8")[:4096])
        return Holder(
            int(data.get("pid", 0)), str(data.get("command", "")), str(data.get("started", ""))
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return Holder()


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) is not a probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


#: how long a refused run waits for the holder's record (it is written just after the lock)
RECORD_WAIT = 2.0


def current_holder(side: Path, wait: float = RECORD_WAIT) -> Holder:
    """Who holds the lock, by its side file: a record not written yet, or left by a run
    that died, is waited out for up to ``wait`` seconds (then: nobody known)."""
    deadline = time.monotonic() + wait
    while True:
        found = read_holder(side)
        if found.pid and _alive(found.pid):
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


def holder(settings: Settings) -> Holder | None:
    """Who holds the lock now (None: nobody). Takes and drops the lock to find out."""
    lock, side = lock_paths(settings)
    if not lock.exists():
        return None
    try:
        fh = _open(lock)
    except OSError:
        return None
    try:
        if _try_lock(fh):
            _unlock(fh)
            return None
        return current_holder(side, wait=0)  # a look ahead (the Review step): never waits
    finally:
        fh.close()


@contextmanager
def hold(settings: Settings, command: str) -> Iterator[None]:
    """Hold the lock for the block; WizardError(LOCKED, exit 2) at once if another run has it."""
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
        if not _try_lock(fh):
            raise refusal(settings, current_holder(side))
        try:
            me = {
                "pid": os.getpid(),
                "command": command,
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            draft = side.with_name(f"{side.name}.{os.getpid()}.tmp")
            draft_fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(draft_fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(me))
            os.replace(draft, side)  # a reader sees the whole record or none
            yield
        finally:
            side.unlink(missing_ok=True)
            _unlock(fh)
    finally:
        fh.close()


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
