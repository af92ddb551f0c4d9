"""What a screen's worker hands back: typed messages, handled with ``@on``.

A worker never touches a widget: it posts one of these (``post_message`` is thread
safe), and a message posted to a screen that has gone away is simply dropped, so no
handler needs an "am I still attached" guard. What the worker learnt that outlives
the screen is kept by the session before the message is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from textual.message import Message
from textual.message_pump import MessagePump

from ..engines import Account, AzureSession, ConnectionStatus, Location, Subscription
from ..events import ErrorCode, Event, WizardError, describe
from ..history import History
from ..pipeline import DeployResult
from ..plan import Plan
from ..rehearse import Rehearsal


class WorkFailed(Message):
    """A worker's failure, already translated for people (never Python's exception text)."""

    def __init__(self, work: str, error: WizardError) -> None:
        super().__init__()
        self.work = work
        self.error = error


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
    """``generation`` tells a late answer for values typed since from the current one."""

    def __init__(self, generation: int, lines: list[str]) -> None:
        super().__init__()
        self.generation = generation
        self.lines = lines


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


def report(node: MessagePump, work: str, job: Callable[[], Message | None]) -> None:
    """Run ``job`` (in a worker thread) and post what it returns, or its failure, to ``node``."""
    try:
        message = job()
    except Exception as exc:  # every failure reaches the screen, translated
        error = describe(exc)
        if error.code == ErrorCode.UNEXPECTED:
            logging.getLogger("numerai_aci_wizard").error(
                "unexpected failure in %s", work, exc_info=exc
            )
        node.post_message(WorkFailed(work, error))
        return
    if message is not None:
        node.post_message(message)
