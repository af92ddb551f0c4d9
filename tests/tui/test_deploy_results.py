"""What a deploy ends with: an existing image needs no Docker; managed identity warns of its wait."""

from __future__ import annotations

from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.tui.screens import DeployScreen, DoneScreen
from tests.tui.conftest import FULL_ENV, SIZE, answered, settle, text


async def test_an_existing_image_deploys_without_docker(make_app, world) -> None:
    # the engine is unreachable: any check of it would fail the deploy
    world.fail["docker"] = WizardError(
        "Docker is not running", "start it", code=ErrorCode.DAEMON_UNREACHABLE
    )
    app = make_app(answered(docker__build=False), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, DeployScreen)
        steps = text(app, "#steps-text")
        assert "✓ Checking Azure and Numerai" in steps and "Docker" not in steps
        assert "✓ Checking ada1/numerai-predict:latest in its registry" in steps
        await pilot.click("#next")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)


async def test_managed_identity_deploy_says_the_first_trigger_may_wait(make_app) -> None:
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.click("#next")
        await settle(pilot)
        assert isinstance(app.screen, DoneScreen)
        shown = " ".join(str(s.content) for s in app.screen.query(".para"))
        assert "role assignment takes Azure a few minutes to apply" in shown
        assert "No manual step" in shown
