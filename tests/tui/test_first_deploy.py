"""The first deploy as a new user meets it (issue 21, items 4 and 5): keys Numerai refused do
not pass Next, the registry sign-in is checked before the build, and Back after a failed
deploy lands on the answer to fix (or on Review, after a Cancel)."""

from __future__ import annotations

import threading

from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.tui.screens import DeployScreen
from tests.support.engines import PUBLIC_ID, SECRET_KEY
from tests.tui.conftest import FULL_ENV, SIZE, answered, error_of, input_of, settle, text, until

WRONG_ID = "WRONGPUBLICID" + "Q" * 19  # well formed, not the account's


async def _deploy_until_it_ends(pilot) -> None:
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    await pilot.press("enter")  # the focused Deploy button, as a person presses it
    await settle(pilot)
    assert isinstance(app.screen, DeployScreen) and not app.screen.running


async def test_keys_numerai_refused_do_not_pass_next(make_app) -> None:
    app = make_app(answered(), env={})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai_public_id").value = WRONG_ID
        input_of(app, "numerai_secret_key").value = SECRET_KEY
        await pilot.click("#check-keys")
        await settle(pilot)
        assert "Numerai refused the API key" in text(app, "#keys-status")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "numerai"
        assert "Numerai refused the API key" in error_of(app, "numerai_public_id")
        assert app.focused is input_of(app, "numerai_public_id")
        # the right keys, checked, pass
        input_of(app, "numerai_public_id").value = PUBLIC_ID
        await pilot.click("#check-keys")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "azure"


async def test_a_registry_password_refused_stops_before_the_build_and_back_lands_on_it(
    make_app, world
) -> None:
    world.fail["login"] = WizardError(
        "The registry docker.io refused user 'ada1': unauthorized: incorrect username or password",
        "Check the Docker Hub username and password.",
        code=ErrorCode.UNAUTHORIZED,
        field="docker_password",
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy_until_it_ends(pilot)
        steps = text(app, "#steps-text")
        assert "✗ Checking Docker" in steps and "Build" not in steps  # nothing was built
        assert "refused user 'ada1'" in text(app, "#failure")
        await pilot.click("#back")
        await pilot.pause()
        assert app.screen.STEP == "docker"
        assert app.focused is input_of(app, "docker_password")
        assert "refused user 'ada1'" in error_of(app, "docker_password")


async def test_back_after_keys_refused_at_deploy_lands_on_the_keys(make_app) -> None:
    env = {**FULL_ENV, "NUMERAI_PUBLIC_ID": WRONG_ID}
    app = make_app(answered(), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy_until_it_ends(pilot)
        assert "What to do" in text(app, "#failure")
        await pilot.click("#back")
        await pilot.pause()
        assert app.screen.STEP == "numerai"
        assert app.focused is input_of(app, "numerai_public_id")


async def test_back_after_a_cancel_goes_to_review_with_no_field_blamed(make_app, world) -> None:
    world.block["resource_group"] = threading.Event()  # never set: only the cancel ends it
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("enter")
        await until(
            pilot, lambda: "… Resource group" in text(app, "#steps-text"), "… Resource group"
        )
        await pilot.click("#cancel")
        await settle(pilot)
        await pilot.click("#back")
        await settle(pilot)
        assert app.screen.STEP == "review"
        assert "Cancelled" not in str(
            [n.message for n in app._notifications]
        )  # no field error, no notice blaming an answer


async def test_moving_to_another_resource_group_says_the_old_one_stays(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        assert not app.screen.query("#left-behind")  # same place: nothing to say
        app.choose("azure.resource_group", "numerai-rg2")
        app.goto("review")
        await settle(pilot)
        said = text(app, "#left-behind")
        assert "pipeline in resource group numerai-rg" in said
        assert "new one in numerai-rg2" in said and "az group delete --name numerai-rg" in said
