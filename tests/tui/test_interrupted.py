"""Interrupted runs tell the truth (issue 21, item 1): a resize cancelled or failed half-way,
a quit while the deploy runs. What the screen, the farewell and the next Welcome say comes
from the run's events and the run state, never from a guess.
"""

from __future__ import annotations

import threading

from textual.widgets import Button

from numerai_aci_wizard import store
from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.tui.screens import DeployScreen, WelcomeScreen
from numerai_aci_wizard.tui.screens.dialogs import ChoiceScreen
from tests.support.engines import WEBHOOK_URL
from tests.tui.conftest import FULL_ENV, SIZE, answered, settle, text
from tests.tui.conftest import until as wait_until

GONE = "was deleted for the resize and not re-created: the next round will fail"


async def _start_deploy(pilot, until: str, mark: str = "…") -> None:
    """Review, Enter on Deploy, then wait until the steps list shows ``until`` (under way)."""
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    assert app.focused is app.screen.query_one("#next")
    await pilot.press("enter")
    await wait_until(
        pilot,
        lambda: (
            isinstance(app.screen, DeployScreen) and f"{mark} {until}" in text(app, "#steps-text")
        ),
        f"{mark} {until}",
    )


async def test_a_cancel_during_the_recreate_waits_until_the_group_exists_again(
    make_app, world, config
) -> None:
    world.resize = True
    gate = world.block["container_group"] = threading.Event()
    app = make_app(answered(azure__cpu=2.0), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "Container group")
        await pilot.click("#cancel")
        await pilot.pause()
        label = str(app.screen.query_one("#cancel", Button).label)
        assert label == "Cancelling once the container group exists again..."
        gate.set()  # the create Azure was already doing completes
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DeployScreen) and not screen.running
        assert "Cancelled" in text(app, "#failure")
        assert GONE not in text(app, "#failure")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert "recreate container_group" in world.applied
    said = "\n".join(app.farewell)
    assert "stopped at a safe point" in said
    assert "done          Container group numerai-predict: recreated" in said
    assert GONE not in said and "manual step" not in said
    assert store.RunState.load(store.state_path(config)).group_missing == ""


async def test_a_resize_whose_create_fails_says_the_group_is_gone_everywhere(
    make_app, world, config
) -> None:
    world.resize = True
    world.fail["container_group"] = WizardError(
        "Azure has no capacity for 2 vCPU in eastus",
        "try again later or pick another region",
        code=ErrorCode.AZURE_QUOTA,
    )
    app = make_app(answered(azure__cpu=2.0), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "Container group", "✗")
        await settle(pilot)
        shown = text(app, "#failure")
        assert "no capacity" in shown and "numerai-predict " + GONE in shown
        await pilot.press("ctrl+q")
        await pilot.pause()
    said = "\n".join(app.farewell)
    assert "The deploy failed: Azure has no capacity" in said
    assert "deleted       Container group numerai-predict: not created again" in said
    assert GONE in said and WEBHOOK_URL not in said
    # the next start of the wizard says it too, from the run state
    assert store.RunState.load(store.state_path(config)).group_missing == "numerai-predict"
    again = make_app(env=FULL_ENV)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, WelcomeScreen)
        assert "deleted the container group numerai-predict for a resize" in text(
            again, "#group-missing"
        )
        assert "the next round will fail" in text(again, "#group-missing")


async def test_the_next_deploy_that_creates_the_group_clears_the_warning(
    make_app, world, config
) -> None:
    path = store.state_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.RunState(group_missing="numerai-predict").save(path)
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "Container group", "✓")
        await settle(pilot)
        assert app.result is not None
    assert store.RunState.load(path).group_missing == ""


async def test_stop_and_quit_after_the_run_finished_quits_at_once_with_the_url(
    make_app, world
) -> None:
    gate = world.block["workflow"] = threading.Event()
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "Logic App")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        gate.set()  # the deploy finishes while the question is open
        await settle(pilot)
        await pilot.click("#stop-and-quit")
        await pilot.pause()
    assert app.return_value == 0
    assert WEBHOOK_URL in app.farewell


async def test_a_quit_while_the_deploy_runs_says_what_azure_holds(make_app, world) -> None:
    world.resize = True
    gate = world.block["container_group"] = threading.Event()
    app = make_app(answered(azure__cpu=2.0), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "Container group")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#stop-and-quit")
        await pilot.pause()
        assert str(app.screen.query_one("#cancel", Button).label).startswith("Stopping")
        gate.set()
        await settle(pilot)
    assert app.return_value == 1
    said = "\n".join(app.farewell)
    assert "Container group numerai-predict: recreated" in said
    assert "manual step" not in said
