"""The history in the wizard (Done and Welcome steps) and the Review step's local rehearsal."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import Button

from numerai_aci_wizard.engines import Submission, WorkflowRun
from numerai_aci_wizard.tui.screens import DoneScreen, ReviewScreen, WelcomeScreen
from numerai_aci_wizard.tui.screens.dialogs import DeviceCodeScreen
from tests.support.engines import MODEL_ID, World
from tests.tui.conftest import FULL_ENV, SIZE, answered, settle, text


def _last_week(world: World) -> None:
    """Monday's call failed (connection not authorized); Tuesday's started and submitted."""
    world.runs = [
        WorkflowRun("r2", datetime(2026, 11, 24, 13, 0, 4, tzinfo=UTC), "succeeded"),
        WorkflowRun(
            "r1",
            datetime(2026, 11, 23, 13, 0, 2, tzinfo=UTC),
            "failed",
            failed_action="Start_container_group",
            code="Unauthorized",
            message="The API connection 'aci' is not authorized",
        ),
    ]
    world.submissions = {
        MODEL_ID: [Submission("s1", 1101, None, datetime(2026, 11, 24, 13, 4, 51, tzinfo=UTC))]
    }


async def test_done_shows_the_last_webhook_calls(make_app, world) -> None:
    _last_week(world)
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        rows = text(app, "#history").splitlines()
        assert rows[0] == (
            "✓ 2026-11-24 round 1101: called 13:00:04, started, submitted 13:04:51 (ada_model)"
        )
        assert rows[1].startswith("✗ 2026-11-23 called 13:00:02, not started: the API connection")
        assert rows[2].strip().startswith("what to do: authorize it once in the Azure portal")


async def test_done_says_when_the_history_cannot_be_read(make_app, world) -> None:
    from numerai_aci_wizard.events import WizardError

    world.fail["runs"] = WizardError("cannot reach Azure")
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        assert text(app, "#history") == "The run history could not be read: cannot reach Azure"
        assert "The webhook of ada_model is" in text(
            app, "#numerai-status"
        )  # the rest of Done is intact


async def test_welcome_on_a_rerun_shows_how_the_last_rounds_went(make_app, world) -> None:
    _last_week(world)
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        await settle(pilot)
        shown = text(app, "#history")
        assert shown.startswith("How the last rounds went:")
        assert "round 1101: called 13:00:04, started" in shown and "not started" in shown


async def test_welcome_never_asks_for_a_device_code_to_show_the_history(make_app, world) -> None:
    _last_week(world)
    world.device_code = True  # no az login: only a device code would sign in
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert not isinstance(app.screen, DeviceCodeScreen)
        assert app.screen.query_one("#history").display is False
        assert app.session.signed_in is None


async def test_first_run_welcome_has_no_history(make_app, world) -> None:
    _last_week(world)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.screen.query("#history") and world.sign_ins == 0


async def test_review_rehearses_locally_and_shows_the_outcome(make_app, world) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        await pilot.click("#rehearse")
        await settle(pilot)
        shown = text(app, "#rehearsal")
        assert shown.startswith("The rehearsal passed:")
        assert "✓ ada_model: a valid submission landed (round 1101" in shown
        assert app.screen.query_one("#rehearse", Button).disabled is False
        assert world.webhooks == {}  # nothing was deployed


async def test_a_failing_rehearsal_shows_the_models_error(make_app, world) -> None:
    world.local_exit = 1
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.click("#rehearse")
        await settle(pilot)
        shown = text(app, "#rehearsal")
        assert shown.startswith("✗ the rehearsal failed: the container exited with 1")
        assert "ValueError: broken model" in shown and "What to do" in shown
        assert text(app, "#plan-status") == "Deploy makes 6 changes (6 rows below):"  # untouched


async def test_no_rehearsal_until_the_answers_are_complete(make_app) -> None:
    app = make_app(answered(), env={"DOCKER_PASSWORD": "fake-registry-password"})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        assert app.screen.query_one("#rehearse", Button).disabled is True
