"""The one redaction helper: masks every known secret and a webhook URL's signature;
and the one sanitizer of text from outside (:func:`shown`): control characters escaped.

Everything that logs or shows log lines (the log file, a TUI log pane, the CLI's
progress lines) goes through :func:`redact`. Secrets are registered as soon as they
are known (from env, keyring or a prompt), so even a library that echoes a header
or a URL cannot leak them.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"
_SIG_RE = re.compile(r"((?:[?&]|%26|\\u0026)sig(?:=|%3D))[^&\s\"'<>]+", re.IGNORECASE)
_AUTH_RE = re.compile(
    r"((?:Authorization|Token|Bearer)[\"':= ]+)([^\s\"',}]+\$[^\s\"',}]+)", re.IGNORECASE
)
_MIN_SECRET_LEN = 4

_lock = threading.Lock()
_secrets: set[str] = set()


#: derived forms (base64 fragments, URL encodings) shorter than this are not masked: they
#: would hit ordinary text
_MIN_DERIVED_LEN = 8
_BASIC_RE = re.compile(r"(\bBasic\s+)([A-Za-z0-9+/_-]{8,}={0,2})", re.IGNORECASE)


def _base64_forms(secret: str) -> set[str]:
    """The part of the base64 text that depends only on ``secret``, at each of the three
    alignments it can have inside a longer encoded value ("user:secret" in a Basic header,
    a docker config's auth, a JSON blob): standard and URL-safe alphabets."""
    raw = secret.encode()
    out: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        first = -(-8 * offset // 6)  # the first character made of the secret's bits only
        last = (8 * (offset + len(raw)) - 6) // 6  # the last one
        piece = encoded[first : last + 1]
        if len(piece) >= _MIN_DERIVED_LEN:
            out.add(piece)
            out.add(piece.replace("+", "-").replace("/", "_"))
    return out


def forms(secret: str) -> set[str]:
    """Every form in which ``secret`` may appear in text: as is, URL-encoded, in base64."""
    out = {secret}
    if len(secret) >= _MIN_DERIVED_LEN:
        out.add(quote(secret, safe=""))
        out.add(quote_plus(secret, safe=""))
        out |= _base64_forms(secret)
    return out


def register(*values: str) -> None:
    """Remember values to mask from now on, with their base64 and URL-encoded forms
    (empty and very short values are ignored)."""
    found: set[str] = set()
    for v in values:
        v = (v or "").strip()
        if len(v) >= _MIN_SECRET_LEN:
            found |= forms(v)
    with _lock:
        _secrets.update(found)


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
    text = _BASIC_RE.sub(rf"\1{MASK}", text)  # a Basic header is a password, whoever's it is
    return _AUTH_RE.sub(rf"\1{MASK}", text)


# --- text from outside, shown on a terminal ------------------------------------------------

#: C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the
#: invisible direction marks and overrides that make shown text read otherwise than it is
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """Text that came from outside (a container's output, a value ARM or Numerai returned)
    as a terminal may show it: every control character written out (ESC as ``\\x1b``, BEL
    as ``\\x07``), so none is executed: no clipboard write (OSC 52), no cleared screen, no
    retitled window. A carriage return ends a line (it could hide what came before it)."""
    if not text:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_RE.sub(_escaped, text)


def shown(text: str) -> str:
    """The one call before text from outside reaches a person: controls escaped, secrets masked."""
    return redact(escape_controls(text))


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
