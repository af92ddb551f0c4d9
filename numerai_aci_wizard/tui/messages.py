"""What a screen's worker hands back: typed messages, handled with ``@on``.

A worker never touches a widget: it posts one of these (``post_message`` is thread
safe), and a message posted to a screen that has gone away is simply dropped, so no
handler needs an "am I still attached" guard. What the worker learnt that outlives
the screen is kept by the session before the message is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.message import Message
from textual.message_pump import MessagePump

from ..events import ErrorCode, Event, Progress, WizardError, describe
from ..present import failure_lines
from .style import styled

if TYPE_CHECKING:  # the types the messages carry: the modules load when the work runs
    from ..engines import Account, AzureSession, ConnectionStatus, Location, Subscription
    from ..history import History
    from ..pipeline import DeployResult
    from ..plan import Plan
    from ..rehearse import Rehearsal


def failure_text(error: WizardError, about: str = "") -> Text:
    """A failure as every step shows it, the Deploy step's way (present.failure_lines): what
    failed (after ``about``, what the screen was doing, when given), then on its own line
    what to do (never the hint glued to the end of the message). Plain text, never markup,
    and what came from outside has its control characters written out and secrets masked
    (styled applies redact.shown)."""
    headline = f"{about}: {error.message}" if about else error.message
    return styled(failure_lines(headline, error.hint))


class WorkFailed(Message):
    """A worker's failure, already translated for people (never Python's exception text).

    Each kind of work fails with its own subclass, so a screen picks its handler by type
    (``@on(PlanFailed)``); ``@on(WorkFailed)`` takes every failure of the screen's work.
    """

    #: the work's name in the log file
    work: ClassVar[str] = "work"

    def __init__(self, error: WizardError) -> None:
        super().__init__()
        self.error = error


class SignInFailed(WorkFailed):
    work = "sign-in"


class LocationsFailed(WorkFailed):
    work = "locations"


class KeysFailed(WorkFailed):
    work = "keys"


class LimitsFailed(WorkFailed):
    work = "limits"


class PlanFailed(WorkFailed):
    work = "plan"


class RehearsalFailed(WorkFailed):
    work = "rehearse"


class DeployFailed(WorkFailed):
    work = "deploy"


class HistoryFailed(WorkFailed):
    work = "history"


class ConnectionFailed(WorkFailed):
    work = "connection"


class SignedIn(Message):
    def __init__(self, session: AzureSession, subscriptions: list[Subscription]) -> None:
        super().__init__()
        self.session = session
        self.subscriptions = subscriptions


class LocationsListed(Message):
    def __init__(self, subscription_id: str, locations: list[Location]) -> None:
        super().__init__()
        self.subscription_id = subscription_id
        self.locations = locations


class KeysChecked(Message):
    def __init__(self, account: Account, models: dict[str, str]) -> None:
        super().__init__()
        self.account = account
        self.models = models


class LimitsRead(Message):
    def __init__(self, location: str, limits: tuple[float, float]) -> None:
        super().__init__()
        self.location = location
        self.limits = limits


class CostEstimated(Message):
    """``asked``: the values the estimate is for, which tell a late answer for values
    typed since from the current one."""

    def __init__(self, lines: list[str], asked: object = None) -> None:
        super().__init__()
        self.lines = lines
        self.asked = asked


class PlanMade(Message):
    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan


class ConnectionChecked(Message):
    def __init__(self, status: ConnectionStatus) -> None:
        super().__init__()
        self.status = status


class PipelineEvent(Message):
    """One pipeline event, handed from the worker thread to the deploy screen."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """A progress report still queued is stale once a newer one for the same step comes."""
        return (
            isinstance(message, PipelineEvent)
            and isinstance(self.event, Progress)
            and isinstance(message.event, Progress)
            and message.event.step == self.event.step
        )


class Deployed(Message):
    def __init__(self, result: DeployResult) -> None:
        super().__init__()
        self.result = result


class HistoryRead(Message):
    """The last few webhook calls and what came of them (the Done and Welcome steps)."""

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history


class Rehearsed(Message):
    """A local rehearsal ended and every model's submission landed (failures: WorkFailed)."""

    def __init__(self, result: Rehearsal) -> None:
        super().__init__()
        self.result = result


def report(node: MessagePump, failed: type[WorkFailed], job: Callable[[], Message | None]) -> None:
    """Run ``job`` (in a worker thread) and post what it returns, or its failure (a
    ``failed``, the work's own WorkFailed), to ``node``."""

    try:
        message = job()
    except Exception as exc:  # every failure reaches the screen, translated
        error = describe(exc)
        log = logging.getLogger("numerai_aci_wizard.wizard")
        if error.code == ErrorCode.UNEXPECTED:
            log.error("unexpected failure in %s", failed.work, exc_info=exc)
        else:  # the log viewer shows what the screen said
            log.warning(
                "%s failed: %s%s",
                failed.work,
                error.message,
                f" ({error.hint})" if error.hint else "",
            )
        node.post_message(failed(error))
        return
    if message is not None:
        node.post_message(message)
