"""What a step screen may ask of the app that hosts it, as a Protocol.

Screens name their host by this type, never by ``WizardApp``: the app imports the screens,
so a screen that imported the app (even for a type) would close an import loop.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..events import Emit
    from ..pipeline import DeployResult, Pipeline
    from ..session import Session
    from ..settings import Secrets, Settings
    from ..store import UnknownKey


class WizardHost(Protocol):
    """The wizard app as its steps see it: the answers, the session, and where to go next."""

    session: Session
    result: DeployResult | None
    #: what the deploy runs of this session changed in Azure (a Retry's earlier attempts too)
    changes_made: list[str]
    #: what is printed to the terminal once the screen is gone
    farewell: list[str]
    notes: list[str]
    run_minutes: float
    settings_existed: bool
    settings_unreadable: bool
    secret_sources: dict[str, str]
    #: keys the settings file holds that no setting reads (the Welcome offers to fix them)
    unknown_keys: list[UnknownKey]
    unknown_notes: list[str]
    #: where the saved settings put the pipeline (subscription, resource group), if anywhere
    saved_place: tuple[str, str] | None
    #: a container group a resize deleted and no deploy created again ("" when none)
    group_missing: str
    #: Numerai keys (public id, secret key) Numerai refused, with its reason
    refused_keys: dict[tuple[str, str], str]
    #: what the last deploy that did not finish left in Azure (the farewell after a quit)
    interrupted: list[str]

    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def config_path(self) -> Path: ...

    def text_for(self, key: str) -> str: ...

    def answer(self, key: str, text: str) -> str | None: ...

    def choose(self, key: str, value: Any) -> None: ...

    def warm_up(self) -> None: ...

    def goto(self, step: str, focus: str | None = None, reason: str | None = None) -> None: ...

    def goto_field(self, key: str, reason: str | None) -> None: ...

    def step_after(self, step: str) -> str: ...

    def step_before(self, step: str) -> str: ...

    def pipeline(self, emit: Emit, cancel: threading.Event | None = None) -> Pipeline: ...

    def leave(self, code: int) -> None: ...
