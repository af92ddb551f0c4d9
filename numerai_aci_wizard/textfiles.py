"""Text files as Windows users' tools write them, read as they meant them.

- Encoding: Windows PowerShell 5.1 writes UTF-16 with a BOM (``>``, ``Out-File``) or UTF-8
  with a BOM (``-Encoding utf8``); Notepad may write either; an older editor writes the
  ANSI code page. :func:`decode` reads them all.
- Windows paths in TOML: in a double-quoted (basic) string a backslash starts an escape,
  so ``"C:\\Users\\me"`` as typed in Explorer is either invalid TOML (``\\U`` wants eight hex
  digits) or, worse, valid with a different meaning (``"C:\\tmp"`` holds a tab).
  :func:`windows_path_in_basic_string` finds such a value and says how to write it.
Pure: no import of the package.
"""

from __future__ import annotations

import codecs
import re


def is_utf16(data: bytes) -> bool:
    """A UTF-16 BOM: what Windows PowerShell 5.1's ``>`` writes."""
    return data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 (BOM or not), else the Windows ANSI code page."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    if len(data) >= 2 and b"\0" in data[:64]:  # UTF-16 without a BOM: ASCII with NULs between
        return data.decode("utf-16-le" if data[1] == 0 else "utf-16-be", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


#: a double-quoted TOML value that starts like a Windows path: C:\..., C:/... with a
#: backslash later, \\server\share, .\folder, ..\folder
_BASIC = re.compile(r'=\s*"((?:[^"\\\n]|\\.)*)"')
_WINDOWS_START = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|\.{1,2}\\)")
_ESCAPES = {"t": "a tab", "n": "a line break", "r": "a carriage return", "b": "a backspace"}
_ESCAPES["f"] = "a form feed"


def windows_path_in_basic_string(text: str) -> tuple[int, str] | None:
    """(line number, message) for the first double-quoted value that is a Windows path
    with single backslashes; None when there is none."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if stripped.startswith("#"):
            continue
        for match in _BASIC.finditer(line):
            value = match.group(1)
            if not _WINDOWS_START.match(value):
                continue
            single = [m.group(1) for m in re.finditer(r"\\(.)", value) if m.group(1) != "\\"]
            if not single:
                continue  # "C:\\Users\\me": escaped as TOML wants it
            shown = value  # what was typed is what was meant
            slashes = shown.replace("\\", "/")
            became = next((_ESCAPES[c] for c in single if c in _ESCAPES), "")
            why = f"in double quotes a backslash starts an escape: \\{single[0]} " + (
                f"turns into {became}" if became else "is not a valid escape"
            )
            return number, (
                f'"{value}" is a Windows path in double quotes ({why}); write it in single '
                f"quotes, '{shown}', or with forward slashes, \"{slashes}\""
            )
    return None
