"""The last few webhook calls, as the Done and Welcome steps show them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from ...history import History


def history_text(history: History, limit: int = 5) -> Text:
    """One line per call (✓ / ✗ / …), the failure's "what to do" under it, styled."""
    from ...present import history_lines  # when rows arrive: the first frame does not wait for it
    from ..style import styled

    return styled(history_lines(history, limit))
