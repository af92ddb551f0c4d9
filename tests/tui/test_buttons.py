"""Every step's buttons pressed the way a person presses them: Enter on the focused button, and
a click. Each press must do its thing exactly once (Textual calls a handler on every class of
the MRO: a step's ``on_button_pressed`` plus its base's once deployed twice from Review)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from textual.widgets import Button

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.tui.screens.azure import AzureScreen
from numerai_aci_wizard.tui.screens.deploy import DeployScreen
from numerai_aci_wizard.tui.screens.docker import DockerScreen
from numerai_aci_wizard.tui.screens.done import DoneScreen
from numerai_aci_wizard.tui.screens.numerai import NumeraiScreen
from numerai_aci_wizard.tui.screens.review import ReviewScreen
from numerai_aci_wizard.tui.screens.size import SizeScreen
from numerai_aci_wizard.tui.screens.welcome import WelcomeScreen
from tests.support.engines import MODEL_ID, WEBHOOK_URL
from tests.tui.conftest import FULL_ENV, SIZE, answered, settle, text

HOW = ["enter", "click"]
SCREENS_DIR = Path(inspect.getfile(WelcomeScreen)).parent


async def press(pilot, selector: str, how: str) -> None:
    """Press a button as a person does: Tab it into focus and press Enter, or click it."""
    button = pilot.app.screen.query_one(selector, Button)
    if how == "enter":
        button.focus()
        await pilot.pause()
        await pilot.press("enter")
    else:
        await pilot.click(selector)
    await pilot.pause()


async def press_on_review(pilot, selector: str, how: str) -> None:
    """Open the Review step, let its plan arrive, press ``selector`` there and let it work."""
    pilot.app.goto("review")
    await settle(pilot)
    await press(pilot, selector, how)
    await settle(pilot)


def test_no_step_screen_handles_buttons_through_a_method_its_base_also_defines() -> None:
    """``on_button_pressed`` on a step and on its base both run; steps use ``@on`` selectors."""
    offenders = []
    for path in sorted(SCREENS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            bases = {getattr(b, "id", "") for b in cls.bases}
            if "StepScreen" not in bases and cls.name != "StepScreen":
                continue
            for node in cls.body:
                if isinstance(node, ast.FunctionDef) and node.name.startswith("on_button_"):
                    offenders.append(f"{path.name}:{cls.name}.{node.name}")
    assert offenders == []


@pytest.mark.parametrize("how", HOW)
async def test_review_deploy_button_deploys_once_and_ends_on_done(make_app, world, how) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_review(pilot, "#next", how)
        assert isinstance(app.screen, DeployScreen)
        steps = text(app, "#steps-text")
        assert "✗" not in steps and "another numerai-aci-wizard" not in text(app, "#failure")
        assert "✓ Registering the webhook with Numerai" in steps
        assert len(world.applied) == len(set(world.applied)) > 0  # every action once
        assert [type(s) for s in app.screen_stack].count(DeployScreen) == 1
        await press(pilot, "#next", how)  # Continue
        assert isinstance(app.screen, DoneScreen)
        assert text(app, "#webhook-url") == WEBHOOK_URL
        assert world.webhooks == {MODEL_ID: WEBHOOK_URL}


@pytest.mark.parametrize("how", HOW)
async def test_welcome_start_opens_numerai_and_quit_exits(make_app, how) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        await press(pilot, "#next", how)
        assert isinstance(app.screen, NumeraiScreen)
        app.goto("welcome")
        await pilot.pause()
        await press(pilot, "#quit", how)
    assert app.return_code == 0


@pytest.mark.parametrize("how", HOW)
async def test_next_and_back_move_exactly_one_step_on_every_step(make_app, how) -> None:
    """Next then Back from each step returns to it: a doubled press would skip a step."""
    order = [NumeraiScreen, AzureScreen, SizeScreen, DockerScreen, ReviewScreen]
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "#next", how)  # Welcome -> Numerai
        for here, after in zip(order, order[1:], strict=False):
            assert isinstance(app.screen, here)
            await settle(pilot)
            await press(pilot, "#next", how)
            await settle(pilot)
            assert isinstance(app.screen, after), f"Next on {here.__name__}"
            await press(pilot, "#back", how)
            await settle(pilot)
            assert isinstance(app.screen, here), f"Back on {after.__name__}"
            await press(pilot, "#next", how)
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)


@pytest.mark.parametrize("how", HOW)
async def test_numerai_check_keys_asks_numerai_once(make_app, how) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        await press(pilot, "#check-keys", how)
        await settle(pilot)
        assert text(app, "#keys-status") == "Keys work: account ada, 2 models."


@pytest.mark.parametrize("how", HOW)
async def test_azure_sign_in_button_signs_in_once(make_app, world, how) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await settle(pilot)
        before = world.sign_ins
        await press(pilot, "#sign-in", how)
        await settle(pilot)
        assert "ada@example.com" in text(app, "#who")
        assert world.sign_ins <= before + 1


@pytest.mark.parametrize("how", HOW)
async def test_review_rehearse_button_rehearses_once(make_app, world, how) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_review(pilot, "#rehearse", how)
        assert text(app, "#rehearsal").startswith("The rehearsal passed:")
        assert isinstance(app.screen, ReviewScreen)


@pytest.mark.parametrize("how", HOW)
async def test_deploy_retry_and_back_after_a_failure(make_app, world, how) -> None:
    world.fail["container_group"] = WizardError("Azure refused: 409 Conflict", "wait and retry")
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_review(pilot, "#next", how)
        assert "409 Conflict" in text(app, "#failure")
        del world.fail["container_group"]
        await press(pilot, "#retry", how)
        await settle(pilot)
        assert not app.screen.query_one("#failure").display
        assert world.applied.count("create container_group") == 1  # one retry, not two
        assert world.webhooks == {MODEL_ID: WEBHOOK_URL}
        await press(pilot, "#next", how)
        assert isinstance(app.screen, DoneScreen)
        await press(pilot, "#back", how)
        assert isinstance(app.screen, ReviewScreen)


@pytest.mark.parametrize("how", HOW)
async def test_done_buttons_copy_check_and_finish(make_app, world, how) -> None:
    world.connected_after = 1
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await press_on_review(pilot, "#next", how)
        await press(pilot, "#next", how)
        assert isinstance(app.screen, DoneScreen)
        await press(pilot, "#copy-url", how)
        assert app.clipboard == WEBHOOK_URL
        await press(pilot, "#copy-link", how)
        assert app.clipboard.endswith("/connections/aci/edit")
        app.screen.poll_seconds = 0.01
        before = world.status_calls
        await press(pilot, "#check-connection", how)
        await settle(pilot)
        assert text(app, "#connection-status").startswith("✓ Connected")
        assert world.status_calls == before + 1
        await press(pilot, "#finish", how)
    assert app.return_code == 0
