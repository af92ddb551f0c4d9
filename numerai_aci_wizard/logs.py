"""Where logging goes: a redacted file in the user state dir, never the terminal.

Libraries (azure-core, docker, numerapi) log through ``logging``; under a running
wizard a line on the terminal would tear the screen, and a secret in a library's
debug line must never reach a file unmasked. The file also holds the wizard's own
story (every step started, finished or failed, every warning: :func:`logged`), so a
bug report shows what the tool did, not only the SDKs' HTTP lines. The file is 0600 in
a 0700 folder, rotated files too.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

from . import redact
from .events import Emit, Event, LogLine, StepFailed
from .present import log_text
from .store import state_dir

EVENTS_LOGGER = "numerai_aci_wizard.events"


def log_path() -> Path:
    return state_dir() / "numerai-aci-wizard.log"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose every file (the first and each after a rollover) is
    created 0600: the default follows the umask, often 0644."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def setup_logging() -> Path | None:
    """Send every log record to the redacted log file; returns its path (None: no file)."""
    path: Path | None = log_path()
    assert path is not None
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if hasattr(os, "fchmod"):
            path.parent.chmod(0o700)  # the tool's own folder: a looser one made earlier is fixed
        # a few MB at most: a long-lived install must not grow a log without bound
        handler: logging.Handler = PrivateRotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact.install_on(handler)
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return path


def log_event(event: Event) -> None:
    """One pipeline event as one log line, in the presenter's words for the file
    (``[step] title``, ``[step] done: summary``, ``[step] failed: message (hint)``);
    progress ticks are left out: they say nothing new."""
    said = log_text(event)
    if not said and not isinstance(event, LogLine):
        return
    level = logging.INFO
    if isinstance(event, StepFailed) or (isinstance(event, LogLine) and event.level == "warning"):
        level = logging.WARNING
    elif isinstance(event, LogLine) and event.level == "debug":
        level = logging.DEBUG
    logging.getLogger(EVENTS_LOGGER).log(level, "[%s] %s", event.step, said)


def logged(emit: Emit) -> Emit:
    """``emit`` that also writes each event to the log file (redacted by its handler)."""

    def both(event: Event) -> None:
        with contextlib.suppress(Exception):  # logging must never break a run
            log_event(event)
        emit(event)

    return both
