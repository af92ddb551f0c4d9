"""Where logging goes: a redacted file in the user state dir, never the terminal.

Libraries (azure-core, docker, numerapi) log through ``logging``; under a running
wizard a line on the terminal would tear the screen, and a secret in a library's
debug line must never reach a file unmasked.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from . import redact
from .store import state_dir


def log_path() -> Path:
    return state_dir() / "numerai-aci-wizard.log"


def setup_logging() -> Path | None:
    """Send every log record to the redacted log file; returns its path (None: no file)."""
    path: Path | None = log_path()
    assert path is not None
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # a few MB at most: a long-lived install must not grow a log without bound
        handler: logging.Handler = RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
        log_path().chmod(0o600)
    except OSError:
        handler, path = logging.NullHandler(), None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redact.install_on(handler)
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    return path
