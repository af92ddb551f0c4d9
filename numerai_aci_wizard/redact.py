"""The one redaction helper: masks every known secret and a webhook URL's signature.

Everything that logs or shows log lines (the log file, a TUI log pane, the CLI's
progress lines) goes through :func:`redact`. Secrets are registered as soon as they
are known (from env, keyring or a prompt), so even a library that echoes a header
or a URL cannot leak them.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_SIG_RE = re.compile(r"((?:[?&]|%26|\\u0026)sig(?:=|%3D))[^&\s\"'<>]+", re.IGNORECASE)
_AUTH_RE = re.compile(
    r"((?:Authorization|Token|Bearer)[\"':= ]+)([^\s\"',}]+\$[^\s\"',}]+)", re.IGNORECASE
)
_MIN_SECRET_LEN = 4

_lock = threading.Lock()
_secrets: set[str] = set()


def register(*values: str) -> None:
    """Remember values to mask from now on (empty and very short values are ignored)."""
    with _lock:
        _secrets.update(v.strip() for v in values if v and len(v.strip()) >= _MIN_SECRET_LEN)


def known_secrets() -> list[str]:
    with _lock:
        return list(_secrets)


def forget_all() -> None:
    """Tests only: start from a clean slate."""
    with _lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret and every ``sig=`` value masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _SIG_RE.sub(rf"\1{MASK}", text)
    return _AUTH_RE.sub(rf"\1{MASK}", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through :func:`redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a library's broken format string must not break logging
            message = str(record.msg)
        clean = redact(message)
        record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_on(handler: logging.Handler) -> logging.Handler:
    """Attach the filter to a handler (filters on handlers also see propagated records)."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
    return handler
