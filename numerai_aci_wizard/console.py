"""Text that reaches stdout and stderr in whatever encoding they have.

On Windows, output redirected to a file or a pipe (``history > runs.txt``,
``| Select-String``, Task Scheduler) is encoded in the ANSI code page (cp1252 and the
like) in strict mode: a ``✓`` there raises UnicodeEncodeError after the work is done, and
the command would end as a failure. :func:`make_safe` gives both streams an error
handler that writes what the encoding lacks as ASCII a reader understands: the marks
the tool prints (``✓`` as ``OK``, ``✗`` as ``X``, ``…`` as ``...``), letters without
their accents, anything else as ``?``. What the encoding can hold is written as it is.
"""

from __future__ import annotations

import codecs
import contextlib
import sys
import unicodedata
from typing import Any

ERRORS = "numerai-aci-ascii"

#: the marks and punctuation the tool (and the texts it passes on) use, as ASCII
ASCII_MARKS: dict[str, str] = {
    "✓": "OK",
    "✔": "OK",
    "✗": "X",
    "✘": "X",
    "…": "...",
    "—": "--",
    "–": "-",
    "→": "->",
    "←": "<-",
    "•": "*",
    "·": ".",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "≈": "~",
    "×": "x",
    "\u00a0": " ",
}

#: error modes a stream may already have that are kept: the user (PYTHONIOENCODING=x:mode)
#: or the embedding chose them and they never raise
_KEPT = frozenset({"replace", "ignore", "xmlcharrefreplace", "namereplace", ERRORS})


def ascii_for(char: str) -> str:
    """What an unencodable character is written as."""
    if char in ASCII_MARKS:
        return ASCII_MARKS[char]
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return plain if plain.strip() or char.isspace() else "?"


def _handler(error: UnicodeError) -> tuple[str | bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    if all("\udc80" <= c <= "\udcff" for c in text):
        # bytes that were not text on the way in (surrogateescape): out as they came
        return bytes(ord(c) - 0xDC00 for c in text), error.end
    return "".join(ascii_for(c) for c in text), error.end


codecs.register_error(ERRORS, _handler)


def make_safe(stream: Any) -> None:
    """Give ``stream`` (a text stream) the error handler above, unless its encoding holds
    every character anyway (UTF-8, a Windows console) or it already never raises."""
    reconfigure = getattr(stream, "reconfigure", None)
    encoding = getattr(stream, "encoding", None)
    if reconfigure is None or not encoding:
        return
    if codecs.lookup(encoding).name in ("utf-8", "utf-16", "utf-32", "gb18030"):
        return
    if getattr(stream, "errors", None) in _KEPT:
        return
    with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
        reconfigure(errors=ERRORS)


def make_streams_safe() -> None:
    """Both standard streams: stdout for results, stderr for errors and progress."""
    make_safe(sys.stdout)
    make_safe(sys.stderr)
