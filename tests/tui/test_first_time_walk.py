"""The whole first-time setup with the keyboard only, as a new user does it: no settings
file, keys in the environment, Enter on every button (issue 21). Ends on Done after exactly
one deploy. tests/tui/test_terminal.py walks the same keys in a real terminal (tmux)."""

from __future__ import annotations

from numerai_aci_wizard.tui.screens import DoneScreen
from tests.support.engines import MODEL_ID, WEBHOOK_URL
from tests.tui.conftest import FULL_ENV, settle, text, until

#: what a new user types, step by step (also sent through tmux by test_terminal.py)
IMAGE = "ada1/numerai-predict:latest"


async def _until(pilot, step: str) -> None:
    await until(pilot, lambda: getattr(pilot.app.screen, "STEP", "") == step, f"on {step}")
    await settle(pilot)


async def test_first_time_setup_with_the_keyboard_ends_on_done_after_one_deploy(
    make_app, world, config
) -> None:
    app = make_app(env=FULL_ENV)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # Start
        await _until(pilot, "numerai")
        await pilot.press("tab", "tab", "enter")  # past the two keys to Check keys
        await settle(pilot)
        await pilot.press("space")  # the list has the cursor on its first model: tick it
        await pilot.press("ctrl+n")
        await _until(pilot, "azure")
        await pilot.press("enter")  # Sign in to Azure (it has the cursor)
        await settle(pilot)
        await pilot.press("enter", "down", "enter")  # the region list: open it, take the first
        await pilot.press("ctrl+n")
        await _until(pilot, "size")
        await pilot.press("ctrl+n")
        await _until(pilot, "docker")
        await pilot.press(*IMAGE, "tab", *"ada1", "ctrl+n")
        await _until(pilot, "review")
        await pilot.press("enter")  # Deploy has the cursor
        await _until(pilot, "deploy")
        await settle(pilot)
        assert "one run at a time" not in text(app, "#failure")
        await pilot.press("enter")  # Continue has the cursor once the deploy finished
        await _until(pilot, "done")
        assert isinstance(app.screen, DoneScreen)
        assert WEBHOOK_URL in text(app, "#webhook-url")
    assert world.applied.count("create resource_group") == 1
    assert world.webhooks == {MODEL_ID: WEBHOOK_URL}
    assert config.exists()
