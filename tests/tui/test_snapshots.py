"""Snapshots of every screen state with fixed data (pytest-textual-snapshot), each at the
smallest terminal the wizard promises to work in (80x24) and at a common one (100x32).

Fixed means: fake engines with fixed answers, prices from the built-in table, no cursor
blink, no clock, keys that are obviously fake and masked, and a webhook URL whose sig is
FAKE-SIGNATURE. Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import SelectionList

from numerai_aci_wizard.events import WizardError
from tests.support.engines import MODEL_ID, OTHER_MODEL_ID
from tests.tui.conftest import FULL_ENV, KEYS_ENV, answered, check_keys, input_of, settle, until

#: every snapshot at both sizes
SIZES = [(80, 24), (100, 32)]


@pytest.fixture(params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def size(request: pytest.FixtureRequest) -> tuple[int, int]:
    return request.param


#: shown on the welcome screen: the same text on every machine (the file is never read)
SHOWN_CONFIG = Path("/home/ada/.config/numerai-aci-wizard/config.toml")


@pytest.fixture(autouse=True)
def _no_quiet_sign_in(world) -> None:
    """Snapshots show fixed states: the Welcome step's background look at the history must
    not sign in on its own (a race with the first frame); a test signs in by clicking."""
    world.silent_sign_in = False


def test_welcome(snap_compare, size, world) -> None:
    from numerai_aci_wizard.tui.app import WizardApp

    app = WizardApp(SHOWN_CONFIG, engines=world.engines(), env={}, blink=False)

    async def posix_path(pilot) -> None:  # Windows writes it with backslashes: one snapshot
        await pilot.pause()
        widget = app.screen.query_one("#where")
        widget.update(str(widget.content).replace(str(SHOWN_CONFIG), SHOWN_CONFIG.as_posix()))

    assert snap_compare(app, terminal_size=size, run_before=posix_path)


def test_welcome_with_a_broken_settings_file(snap_compare, size, make_app, config) -> None:
    config.write_text("[azure]\nmemory_gb = 'lots'\ncolour = 'blue'\n")
    app = make_app()

    async def hide_path(pilot) -> None:  # the tmp path differs per run: show a fixed one
        await pilot.pause()  # the Welcome (the first screen) is composed
        for selector in ("#where", "#notes"):
            widget = app.screen.query_one(selector)
            shown = str(widget.content).replace(str(config.parent), "<tmp>")
            widget.update(shown.replace("<tmp>\\", "<tmp>/"))  # one snapshot on every OS

    assert snap_compare(app, terminal_size=size, run_before=hide_path)


def test_numerai_keys_checked_and_model_chosen(snap_compare, size, make_app) -> None:
    app = make_app(env=KEYS_ENV)

    async def run_before(pilot) -> None:
        await check_keys(app, pilot)
        app.screen.query_one("#model-list", SelectionList).select(MODEL_ID)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_numerai_bad_key_message(snap_compare, size, make_app) -> None:
    app = make_app(answered())

    async def run_before(pilot) -> None:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai_public_id").value = "abc"
        await pilot.press("ctrl+n")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_azure_signed_in(snap_compare, size, make_app) -> None:
    app = make_app(answered())

    async def run_before(pilot) -> None:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_size_with_region_limits_and_cost(snap_compare, size, make_app, world) -> None:
    world.limits = (4.0, 2.0)
    app = make_app(answered())

    async def run_before(pilot) -> None:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        input_of(app, "azure.memory_gb").value = "8"
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_docker(snap_compare, size, make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)

    async def run_before(pilot) -> None:
        app.goto("docker")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_review_with_plan(snap_compare, size, make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)

    async def run_before(pilot) -> None:
        app.goto("review")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_review_with_problems(snap_compare, size, make_app) -> None:
    app = make_app(answered(docker__image=""), env={})

    async def run_before(pilot) -> None:
        app.goto("review")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def _deployed(app, pilot) -> None:
    app.goto("review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    # the log pane scrolls to its newest line after a refresh: let that land before the shot
    await pilot.pause()
    app.screen.query_one("#log").scroll_end(animate=False, immediate=True)
    await pilot.pause()
    await pilot.pause()


def test_deploy_finished(snap_compare, size, make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    assert snap_compare(app, terminal_size=size, run_before=lambda pilot: _deployed(app, pilot))


def test_deploy_failed(snap_compare, size, make_app, world) -> None:
    world.fail["workflow"] = WizardError(
        "Azure refused to create Logic App startaci: 403 AuthorizationFailed",
        "ask the subscription's owner for the Contributor role on numerai-rg",
    )
    app = make_app(answered(), env=FULL_ENV)
    assert snap_compare(app, terminal_size=size, run_before=lambda pilot: _deployed(app, pilot))


def test_done_api_connection(snap_compare, size, make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)

    async def run_before(pilot) -> None:
        await _deployed(app, pilot)
        await pilot.click("#next")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_done_managed_identity(snap_compare, size, make_app) -> None:
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)

    async def run_before(pilot) -> None:
        await _deployed(app, pilot)
        await pilot.click("#next")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_azure_not_signed_in(snap_compare, size, make_app) -> None:
    """Arriving not signed in: the heading and *Sign in to Azure* (focused) are on screen."""
    app = make_app(answered())

    async def run_before(pilot) -> None:
        app.goto("azure")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_quit_during_deploy_asks(snap_compare, size, make_app, world) -> None:
    import threading

    world.block["workflow"] = threading.Event()  # never set: the deploy is under way
    app = make_app(answered(), env=FULL_ENV)

    async def run_before(pilot) -> None:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await until(
            pilot,
            lambda: "Logic App" in str(app.screen.query_one("#steps-text").content),
            "Logic App",
        )
        await pilot.press("ctrl+q")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# --- issue 21: the states a new user meets at 80x24 --------------------------------------


def test_review_with_seven_plan_rows(snap_compare, size, make_app) -> None:
    """Every row is there (the page scrolls at 80x24), names as people say them."""
    app = make_app(
        answered(azure__trigger="managed-identity", numerai__model_ids=[MODEL_ID, OTHER_MODEL_ID]),
        env=FULL_ENV,
    )

    async def run_before(pilot) -> None:
        app.goto("review")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_size_with_the_cost(snap_compare, size, make_app) -> None:
    """The estimate is on screen above the fields, at both sizes."""
    app = make_app(answered())

    async def run_before(pilot) -> None:
        app.goto("size")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_model_list_one_of_two_ticked(snap_compare, size, make_app) -> None:
    """A check mark, not only colour; the list is on screen when it has the cursor."""
    app = make_app(env=KEYS_ENV)

    async def run_before(pilot) -> None:
        await check_keys(app, pilot)
        await pilot.press("space")  # the cursor is on the first model: tick it
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
