"""The wizard walked by a new user (issue 12): quitting, the URL after exit, focus, honest states.

Each test presses the keys the user pressed and asserts on what the user then sees (or
what the terminal keeps after the wizard closes), against the stand-in engines.
"""

from __future__ import annotations

import threading

from textual.widgets import Button

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.tui.screens import DeployScreen, DoneScreen
from numerai_aci_wizard.tui.screens.dialogs import ChoiceScreen
from tests.tui.conftest import FULL_ENV, SIZE, answered, input_of, settle, text
from tests.tui.fakes import MODEL_ID, PUBLIC_ID, SECRET_KEY, WEBHOOK_URL


async def _start_deploy(pilot, until: str) -> None:
    """Review, Deploy, then wait until the steps list shows ``until`` (a step under way)."""
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(app.screen, DeployScreen) and until in text(app, "#steps-text"):
            return
    raise AssertionError(text(app, "#steps-text"))


async def _deploy(pilot) -> None:
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, DeployScreen)


# --- 1. quitting mid-deploy -------------------------------------------------------------


async def test_ctrl_q_mid_deploy_asks_and_keep_deploying_lets_the_run_finish(
    make_app, world
) -> None:
    gate = world.block["workflow"] = threading.Event()
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "workflow")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert "Quit while deploying?" in text(app, ".heading")
        assert app.focused is app.screen.query_one("#stay")  # Enter does the harmless thing
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DeployScreen) and app.screen.running
        gate.set()
        await settle(pilot)
        assert app.result is not None and app.return_value is None  # still open, deployed
        assert not app.screen.query_one("#next", Button).disabled


async def test_confirmed_quit_stops_at_a_safe_point_and_says_what_azure_holds(
    make_app, world
) -> None:
    world.block["workflow"] = threading.Event()  # never set: the Logic App is being written
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "workflow")
        await pilot.press("ctrl+c")  # Ctrl+C asks too
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.click("#stop-and-quit")
        await settle(pilot)
    assert app.return_value == 1
    said = "\n".join(app.farewell)
    assert "stopped at a safe point" in said
    assert "  done          Create container_group numerai-predict: created" in said
    assert "  not finished  Create workflow startaci" in said
    assert "again: it continues from what exists and repairs the rest" in said
    assert "create container_group" in world.applied and "create workflow" not in world.applied
    assert WEBHOOK_URL not in said and world.webhooks == {}


async def test_first_run_quit_with_answers_offers_to_save_them_never_secrets(
    make_app, config
) -> None:
    app = make_app(env={})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai_public_id").value = PUBLIC_ID
        input_of(app, "numerai_secret_key").value = SECRET_KEY
        input_of(app, "numerai.model_id").value = MODEL_ID
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert str(config) in text(app, "#choice-text")
        await pilot.click("#save-and-quit")
        await pilot.pause()
    assert app.return_value == 0
    body = config.read_text()
    assert MODEL_ID in body and PUBLIC_ID not in body and SECRET_KEY not in body


async def test_first_run_quit_without_saving_writes_nothing(make_app, config) -> None:
    app = make_app(env={})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai.model_id").value = MODEL_ID
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#quit")
        await pilot.pause()
    assert app.return_value == 0 and not config.exists()


async def test_quit_with_nothing_typed_or_settings_saved_does_not_ask(make_app) -> None:
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0


# --- 2. the URL outlives the screen -----------------------------------------------------


async def test_finish_leaves_the_url_whole_on_its_own_line_and_the_next_step(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        await pilot.click("#finish")
        await pilot.pause()
    assert app.return_value == 0
    assert WEBHOOK_URL in app.farewell  # a line of its own, whole
    said = "\n".join(app.farewell)
    assert "Next: authorize the API connection" in said and "connections/aci/edit" in said


async def test_any_exit_after_a_successful_deploy_prints_the_url(make_app) -> None:
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert WEBHOOK_URL in app.farewell
    assert any(line.startswith("Next: nothing to do") for line in app.farewell)


async def test_copy_url_says_the_terminal_was_asked_and_where_else_to_get_it(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        await pilot.click("#copy-url")
        await pilot.pause()
        said = " ".join(str(n.message) for n in app._notifications)
        assert "Asked the terminal to copy" in said and "many terminals ignore it" in said
        assert "printed in the terminal" in said and "copied to the clipboard" not in said


# --- 5. honest states -------------------------------------------------------------------


async def test_after_cancel_no_step_stays_running_and_the_button_is_reset(make_app, world) -> None:
    world.block["workflow"] = threading.Event()
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _start_deploy(pilot, "workflow")
        await pilot.click("#cancel")
        await settle(pilot)
        steps = text(app, "#steps-text")
        assert "…" not in steps and "- Create workflow startaci: not finished" in steps
        cancel = app.screen.query_one("#cancel", Button)
        assert str(cancel.label) == "Cancel" and cancel.disabled
        assert app.focused is app.screen.query_one("#retry")


async def test_after_a_retry_done_lists_what_the_run_changed(make_app, world) -> None:
    world.fail["webhook"] = WizardError("Numerai refused the webhook", "check the key's scopes")
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        assert "Numerai refused" in text(app, "#failure")
        del world.fail["webhook"]
        world.nothing_to_change = True  # the second attempt finds everything in place
        await pilot.click("#retry")
        await settle(pilot)
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        changed = text(app, "#changed")
        assert changed.startswith("Changed") and "numerai-predict" in changed, changed


async def test_done_says_not_authorized_yet_instead_of_error(make_app, world) -> None:
    world.connected_after = 99
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        app.screen.poll_seconds = 60
        await pilot.click("#check-connection")
        for _ in range(50):
            await pilot.pause(0.02)
            if world.status_calls:
                break
        await pilot.pause()
        status = text(app, "#connection-status")
        assert status.startswith("Not authorized yet") and "Error" not in status
        app.screen.workers.cancel_all()
