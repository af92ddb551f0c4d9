"""The one place the wizard gives the presenter's tones a look (present.py says the words)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from .. import redact
from ..present import Line, Tone

STYLES: dict[Tone, str] = {
    "plain": "",
    "start": "",
    "done": "",
    "ok": "green",
    "success": "bold green",
    "failed": "bold red",
    "warning": "yellow",
    "output": "",
    "debug": "",
    "strong": "bold",
    "dim": "dim",
    "running": "bold",
}


def styled(lines: Iterable[Line]) -> Text:
    """The lines as one rich Text, a line each, styled by tone; plain text, never markup, and
    what came from outside has its control characters written out and secrets masked
    (redact.shown)."""
    out = Text()
    for n, line in enumerate(lines):
        if n:
            out.append("\n")
        if line.lead:
            out.append(redact.shown(line.lead), style=STYLES[line.lead_tone])
        out.append(redact.shown(line.text), style=STYLES[line.tone])
    return out
