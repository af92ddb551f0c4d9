"""The wizard walked by a new user (issue 12): quitting, the URL after exit, focus, honest states.

Each test presses the keys the user pressed and asserts on what the user then sees (or
what the terminal keeps after the wizard closes), against the stand-in engines.
"""

from __future__ import annotations

import threading

import pytest
from textual.widgets import Button, SelectionList
from textual.widgets._footer import FooterKey

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.store import load
from numerai_aci_wizard.tui.screens import DeployScreen, DoneScreen
from numerai_aci_wizard.tui.screens.dialogs import ChoiceScreen
from tests.support.engines import MODEL_ID, PUBLIC_ID, SECRET_KEY, WEBHOOK_URL
from tests.tui.conftest import (
    FULL_ENV,
    KEYS_ENV,
    SIZE,
    answered,
    check_keys,
    input_of,
    settle,
    text,
)
from tests.tui.conftest import until as wait_until


async def _start_deploy(pilot, until: str) -> None:
    """Review, Deploy, then wait until the steps list shows ``until`` (a step under way)."""
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await wait_until(
        pilot,
        lambda: isinstance(app.screen, DeployScreen) and until in text(app, "#steps-text"),
        until,
    )


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
        await _start_deploy(pilot, "Logic App")
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
        await _start_deploy(pilot, "Logic App")
        await pilot.press("ctrl+c")  # Ctrl+C asks too
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.click("#stop-and-quit")
        await settle(pilot)
    assert app.return_value == 1
    said = "\n".join(app.farewell)
    assert "stopped at a safe point" in said
    assert "  done          Container group numerai-predict: created" in said
    assert "  not finished  Logic App startaci" in said
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
    assert (
        "One manual step: authorize the API connection" in said and "connections/aci/edit" in said
    )


async def test_any_exit_after_a_successful_deploy_prints_the_url(make_app) -> None:
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert WEBHOOK_URL in app.farewell
    assert any(line.startswith("✓ No manual step: the Logic App") for line in app.farewell)


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
        await _start_deploy(pilot, "Logic App")
        await pilot.click("#cancel")
        await settle(pilot)
        steps = text(app, "#steps-text")
        assert "…" not in steps and "- Logic App startaci: not finished" in steps
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
        await wait_until(pilot, lambda: world.status_calls, "a check of the connection")
        await pilot.pause()
        status = text(app, "#connection-status")
        assert status.startswith("Not authorized yet") and "Error" not in status
        app.screen.workers.cancel_all()


# --- 3. keyboard flow -------------------------------------------------------------------


async def test_the_welcome_starts_on_start_and_does_not_offer_back(make_app) -> None:
    def offered() -> list[str]:
        return [key.action for key in app.screen.query(FooterKey)]

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "back" not in offered() and "next" in offered()
        assert app.focused is app.screen.query_one("#next")  # Enter starts
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.name == "welcome"
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.screen.name == "numerai" and "back" in offered()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.name == "welcome"
        assert app.focused is app.screen.query_one("#next")


async def test_enter_on_the_last_field_means_next(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await pilot.pause()
        from textual.widgets import Input

        last = list(app.screen.query(Input))[-1]
        last.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.STEP == "docker"  # not "Back", and not a step back


async def test_enter_on_an_earlier_field_moves_on_within_the_step(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await pilot.pause()
        first = input_of(app, "azure.memory_gb")
        first.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.STEP == "size" and app.focused is not first


async def test_arriving_at_azure_not_signed_in_focuses_sign_in(make_app, world) -> None:
    world.silent_sign_in = False  # the Welcome step's quiet history signed nobody in
    app = make_app(answered(azure__location=""))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#sign-in")
        await pilot.press("ctrl+n")  # Next before signing in: the region is missing
        await pilot.pause()
        assert "sign in to Azure to choose the region" in text(app, "#location-error")
        await pilot.click("#sign-in")
        await settle(pilot)
        # honest: no stale "sign in" once signed in; the cursor is on the open question
        assert "sign in" not in text(app, "#location-error")
        assert app.focused is app.screen.query_one("#f-azure-location")


async def test_after_sign_in_with_everything_chosen_focus_goes_to_the_names(
    make_app, world
) -> None:
    world.silent_sign_in = False  # not signed in before the Azure step
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.press("enter")  # on "Sign in to Azure"
        await settle(pilot)
        assert app.focused is input_of(app, "azure.resource_group")


async def test_after_check_keys_focus_goes_to_the_model_list(make_app) -> None:
    app = make_app(
        answered(numerai__model_ids=[]),
        env=KEYS_ENV,
    )
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        assert app.focused is app.screen.query_one("#model-list")


async def test_after_check_keys_with_the_model_chosen_focus_goes_to_next(make_app) -> None:
    app = make_app(answered(), env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        assert app.focused is app.screen.query_one("#next")


async def test_a_failed_check_keys_says_why_without_python_text_and_refocuses(
    make_app, world
) -> None:
    world.fail["numerai"] = WizardError("Numerai refused the keys", "make a new key")
    app = make_app(answered(), env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        assert text(app, "#keys-status") == "✗ Numerai refused the keys\nWhat to do: make a new key"
        assert app.focused is app.screen.query_one("#check-keys")


async def test_connected_moves_focus_to_finish(make_app, world) -> None:
    world.connected_after = 1
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        await pilot.click("#check-connection")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#finish")


# --- 7. the log viewer ------------------------------------------------------------------


async def test_log_viewer_shows_whole_lines_the_wizards_own_steps_and_failures_and_fits(
    make_app, world, tmp_path
) -> None:
    import logging

    from textual.widgets import TextArea

    log_file = tmp_path / "wizard.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    wizard_log = logging.getLogger("numerai_aci_wizard")
    wizard_log.addHandler(handler)
    wizard_log.setLevel(logging.INFO)
    long_line = "INFO azure: " + " ".join(f"word{i:03d}" for i in range(60)) + " END"
    log_file.write_text(long_line + "\n")
    world.fail["workflow"] = WizardError("Azure refused the Logic App: 403", "ask for Contributor")
    app = make_app(answered(), env=FULL_ENV, log_path=log_file)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await _deploy(pilot)
            app.action_open_log()
            await pilot.pause()
            shown = app.screen.query_one("#log-file-text", TextArea).text
            assert long_line in shown  # every character, however it wraps
            assert "[checks] Checking Docker, Azure and Numerai" in shown  # once (issue 20)
            assert "Azure refused the Logic App: 403 (ask for Contributor)" in shown
            close = app.screen.query_one("#close", Button)
            assert close.region.bottom <= 24 and close.region.right <= 80 and close.region.height
            await pilot.click("#close")
            await pilot.pause()
            assert isinstance(app.screen, DeployScreen)
    finally:
        wizard_log.removeHandler(handler)
        handler.close()


# --- 6. settings ------------------------------------------------------------------------


async def test_a_value_from_the_environment_is_not_written_to_the_settings(
    make_app, config
) -> None:
    endpoint = "https://127.0.0.1:8443"
    app = make_app(answered(), env={"AZURE_RESOURCE_MANAGER_ENDPOINT": endpoint})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        assert input_of(app, "azure.arm_endpoint").value == endpoint  # shown, used
        input_of(app, "azure.resource_group").value = "other-rg"  # a real answer
        app.action_save_settings()
        await pilot.pause()
    saved = load(config).settings
    assert saved.azure.resource_group == "other-rg" and saved.azure.arm_endpoint == ""
    assert endpoint not in config.read_text()


async def test_a_pasted_model_id_with_a_leading_space_still_selects_the_model(make_app) -> None:
    app = make_app(
        answered(numerai__model_ids=[]),
        env=KEYS_ENV,
    )
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        input_of(app, "numerai.model_id").value = f" {MODEL_ID}"
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press("escape")  # Back from the Azure step
        await pilot.pause()
        assert MODEL_ID in app.screen.query_one("#model-list", SelectionList).selected


async def test_welcome_does_not_say_pre_filled_above_not_valid_toml(make_app, config) -> None:
    config.write_text("[azure\nlocation = 'eastus'\n")
    app = make_app()
    async with app.run_test(size=SIZE):
        where = text(app, "#where")
        assert "pre-filled" not in where and "not readable" in where
        assert "is not valid TOML" in text(app, "#notes")


# --- 5. switches say their state in words -----------------------------------------------


async def test_switch_states_are_shown_in_words_not_colour_alone(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("docker")
        await pilot.pause()
        assert text(app, "#f-docker-build-state").strip() == "on"
        await pilot.click("#f-docker-build")
        await pilot.pause()
        assert text(app, "#f-docker-build-state").strip() == "off"


async def test_the_run_length_for_the_estimate_is_remembered_across_launches(make_app) -> None:
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await settle(pilot)
        input_of(app, "run_minutes").value = "42"
        await pilot.press("ctrl+n")
        await settle(pilot)
    again = make_app()  # the next launch, same settings file
    async with again.run_test(size=SIZE) as pilot:
        again.goto("size")
        await settle(pilot)
        assert input_of(again, "run_minutes").value == "42"
        assert "42 min" in text(again, "#cost")


@pytest.mark.parametrize("step", ["size", "docker", "azure", "numerai"])
async def test_arriving_at_a_step_lands_the_cursor_once(make_app, step: str) -> None:
    """A reason for a setting the step has no field for is said once, not once per handler."""
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        said: list[str] = []
        app.notify = lambda message, **kw: said.append(message)  # type: ignore[method-assign]
        app.goto(step, "azure.not_a_field", "the reason")
        await pilot.pause()
        await pilot.pause()
        assert said == ["the reason"], said
