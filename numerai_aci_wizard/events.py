"""Progress events: the one vocabulary every service speaks.

Services never print and never touch a UI: they call ``emit(event)``. The TUI turns
events into Textual messages; the CLI prints them. Each event names its ``step`` (a
short stable id such as ``"build"`` or ``"container_group"``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    step: str


@dataclass(frozen=True)
class StepStarted(Event):
    title: str


@dataclass(frozen=True)
class Progress(Event):
    """``done`` of ``total`` units (``total`` 0 when unknown). Never goes backwards within a step."""

    done: float
    total: float
    unit: str = ""
    detail: str = ""


@dataclass(frozen=True)
class LogLine(Event):
    text: str
    level: str = "info"  # info | warning | debug


@dataclass(frozen=True)
class StepFinished(Event):
    summary: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StepFailed(Event):
    message: str
    hint: str = ""


Emit = Callable[[Event], None]


def ignore(_: Event) -> None:
    """An ``emit`` for callers that do not care about progress."""


class Cancelled(Exception):
    """The caller set the cancel event; the operation stopped where it was."""


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


class WizardError(Exception):
    """A failure a user can act on: what failed and why (``message``), what to do (``hint``).

    ``exit_code`` follows the CLI contract: 1 the operation failed, 2 bad usage,
    bad settings, missing secrets or an unavailable capability.
    """

    def __init__(self, message: str, hint: str = "", *, exit_code: int = 1, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message
