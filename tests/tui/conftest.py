"""Fixtures for the wizard's tests: fake engines, an app factory and form-filling helpers."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save
from numerai_aci_wizard.tui.app import WizardApp
from tests.support.engines import MODEL_ID, PUBLIC_ID, SECRET_KEY, SUBSCRIPTION, World

SIZE = (100, 40)


@pytest.fixture(autouse=True)
def _offline_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost estimate reads the built-in table: no network, the same figures every run."""
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def answered(**changes: Any) -> Settings:
    """Settings a user would have after answering every question (fake names only)."""
    s = Settings()
    s.numerai.model_id = MODEL_ID
    s.numerai.model_name = "ada_model"
    s.azure.subscription_id = SUBSCRIPTION
    s.azure.location = "eastus"
    s.docker.image = "ada1/numerai-predict:latest"
    s.docker.username = "ada1"
    for key, value in changes.items():
        s.set(key.replace("__", "."), value)
    return s


KEYS_ENV = {"NUMERAI_PUBLIC_ID": PUBLIC_ID, "NUMERAI_SECRET_KEY": SECRET_KEY}
FULL_ENV = {**KEYS_ENV, "DOCKER_PASSWORD": "fake-registry-password"}


@pytest.fixture
def make_app(world: World, config: Path) -> Callable[..., WizardApp]:
    def make(
        settings: Settings | None = None, env: dict[str, str] | None = None, **kw: Any
    ) -> WizardApp:
        if settings is not None:
            save(settings, config)
        kw.setdefault("blink", False)
        kw.setdefault("polling_interval", 0.01)
        app = WizardApp(config, engines=world.engines(), env=env or {}, **kw)
        # a scroll lands at once, so what a test or a snapshot sees never depends on how far
        # an animation got on a busy machine (a snapshot at 80x24 differed by two lines once)
        app.animation_level = "none"
        return app

    return make


async def settle(pilot: Any) -> None:
    """Let the workers finish and their results reach the screen."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Any, condition: Callable[[], object], what: str = "") -> None:
    """Pause until ``condition()`` holds (a worker's events reached the screen); fail naming
    ``what`` if it never does. Generous on purpose: under a loaded machine the worker's
    thread may lag far behind, and a test (or a snapshot) must not go on from another state."""
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what or condition}")
        await pilot.pause(0.02)


async def check_keys(app: WizardApp, pilot: Any) -> None:
    """Open the Numerai step and press Check keys; returns once the check's answer is shown."""
    app.goto("numerai")
    await pilot.pause()
    await pilot.click("#check-keys")
    await settle(pilot)


def text(app: WizardApp, selector: str) -> str:
    """What a Static / Label on the current screen shows, as plain text."""
    widget = app.screen.query_one(selector)
    content = getattr(widget, "content", None)
    if content is None:
        content = widget.render()
    if isinstance(content, str) or hasattr(content, "plain"):
        return str(getattr(content, "plain", content))
    from rich.console import Console

    console = Console(width=300, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


def error_of(app: WizardApp, key: str) -> str:
    from numerai_aci_wizard.tui.widgets.field import field_id

    return text(app, f"#{field_id(key)}-error")


def input_of(app: WizardApp, key: str) -> Any:
    from numerai_aci_wizard.tui.widgets.field import field_id

    return app.screen.query_one(f"#{field_id(key)}-input")
