"""The last few webhook calls, as the Done and Welcome steps show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from ...history import History


def history_text(history: History, limit: int = 5) -> Text:
    """One line per call (✓ / ✗ / …), the failure's "what to do" under it, styled."""
    from ... import redact
    from ...history import render  # when rows arrive: the first frame does not wait for it

    out = Text()
    for n, line in enumerate(render(history, limit)):
        if n:
            out.append("\n")
        style = ""
        if line.startswith("✗"):
            style = "bold red"
        elif line.startswith("    what to do"):
            style = "yellow"
        elif line.startswith("✓"):
            style = "green"
        out.append(redact.shown(line), style=style)
    return out
