"""Pilot tests of every step: what the user sees, where the cursor lands, what the engines got.

The engines are the stand-ins of tests/support/engines.py (fixed data, injectable faults); the
same path against the real local servers is in test_wizard_real.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import Button, ProgressBar, RichLog, Select, SelectionList, TextArea

from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.settings import (
    check_arm_endpoint,
    check_base_image,
    check_container_group,
    check_context,
    check_cpu,
    check_image,
    check_logic_app,
    check_memory,
    check_model_id,
    check_public_id,
    check_python,
    check_resource_group,
    check_secret_key,
)
from numerai_aci_wizard.store import load, save
from numerai_aci_wizard.tui.screens import (
    AzureScreen,
    DeployScreen,
    DockerScreen,
    DoneScreen,
    NumeraiScreen,
    ReviewScreen,
    SizeScreen,
    WelcomeScreen,
)
from numerai_aci_wizard.tui.screens.dialogs import DeviceCodeScreen
from numerai_aci_wizard.tui.widgets.field import field_id
from tests.support.engines import (
    MODEL_ID,
    OTHER_MODEL_ID,
    PUBLIC_ID,
    SECRET_KEY,
    SUBSCRIPTION,
    WEBHOOK_URL,
    FakeDocker,
)
from tests.tui.conftest import (
    FULL_ENV,
    KEYS_ENV,
    SIZE,
    answered,
    check_keys,
    error_of,
    input_of,
    settle,
    text,
    until,
)

# --- welcome --------------------------------------------------------------------------


async def test_welcome_says_what_it_sets_up_costs_and_where_settings_go(make_app, config) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        assert "Logic App" in text(app, "#diagram")
        where = text(app, "#where")
        assert str(config) in where and "never saved" in where
        assert "per run" in text(app, "#cost") and "$" in text(app, "#cost")
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)


async def test_a_broken_settings_file_is_shown_and_the_wizard_still_starts(
    make_app, config
) -> None:
    config.write_text("[azure\nlocation = 'eastus'\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = text(app, "#notes")
        assert "is not valid TOML" in notes and "starting from the defaults" in notes
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)


async def test_unknown_keys_that_cannot_be_rewritten_say_why_in_words_and_keep_the_choice(
    make_app, config
) -> None:
    save(answered(), config)
    config.write_text(config.read_text().replace("[azure]\n", '[azure]\ncontainer_grup = "x"\n'))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        config.unlink()
        config.mkdir()  # the file is gone and a folder has its name: it cannot be rewritten
        await pilot.click("#drop-unknown")
        await pilot.pause()
        said = text(app, "#unknown-said").splitlines()
        assert said[0].startswith("✗ Could not rewrite the file: ")
        assert "Errno" not in said[0] and "IsADirectoryError" not in said[0]  # words, not Python
        assert said[1].startswith("What to do: ")
        assert app.screen.query_one("#unknown-keys").display  # the choice is still there


async def test_unknown_keys_are_shown_and_renamed_as_suggested(make_app, config) -> None:
    save(answered(), config)
    text_before = config.read_text()
    config.write_text(
        'resource_group = "mine-rg"\n'
        + text_before.replace("[azure]\n", '[azure]\ncontainer_grup = "my-cg"\n')
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        notes = text(app, "#notes")
        assert "unknown setting 'azure.container_grup'" in notes
        assert "did you mean `container_group`?" in notes
        assert "did you mean `resource_group` under `[azure]`?" in notes
        await pilot.click("#rename-unknown")
        await pilot.pause()
        said = text(app, "#unknown-said")
        assert (
            'azure.container_grup is now azure.container_group (in place of "numerai-predict")'
            in said
        )
        assert "resource_group is now azure.resource_group" in said
        assert "unknown setting" not in text(app, "#notes")
        assert not app.screen.query_one("#unknown-keys").display
        assert app.settings.azure.container_group == "my-cg"
        assert app.settings.azure.resource_group == "mine-rg"
    again = load(config)
    assert again.unknown == []
    assert again.settings.azure.container_group == "my-cg"
    assert again.settings.azure.resource_group == "mine-rg"
    assert again.settings.azure.subscription_id == SUBSCRIPTION  # the rest as it was


async def test_unknown_keys_can_be_dropped(make_app, config) -> None:
    save(answered(), config)
    config.write_text(config.read_text() + '[azur]\nlocation = "westeurope"\ncolour = "blue"\n')
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert "unknown setting 'azur.colour'" in text(app, "#notes")
        await pilot.click("#drop-unknown")
        await pilot.pause()
        assert "dropped azur.colour" in text(app, "#unknown-said")
        assert app.settings.azure.location == "eastus"  # the dropped value is not used
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)
    again = load(config)
    assert again.unknown == [] and "[azur]" not in config.read_text()
    assert again.settings.azure.location == "eastus"


async def test_quit_and_ctrl_q_exit_with_0(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
    assert app.return_value in (0, None)


# --- Numerai ---------------------------------------------------------------------------


async def test_bad_public_id_shows_the_reason_and_keeps_the_cursor_there(make_app) -> None:
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        await pilot.click("#f-numerai_public_id-input")
        await pilot.press(*"abc")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)
        assert error_of(app, "numerai_public_id") == (
            "a Numerai public ID has 32 characters; this has 3"
        )
        assert app.focused is input_of(app, "numerai_public_id")
        assert input_of(app, "numerai_public_id").password  # masked


async def test_lower_case_secret_key_is_refused_with_the_case_hint(make_app) -> None:
    app = make_app(answered(), env={"NUMERAI_PUBLIC_ID": PUBLIC_ID})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai_secret_key").value = SECRET_KEY.lower()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert "keys are upper case" in error_of(app, "numerai_secret_key")
        assert app.focused is input_of(app, "numerai_secret_key")


async def test_keys_from_the_environment_are_prefilled_and_trimmed(make_app) -> None:
    app = make_app(
        answered(), env={"NUMERAI_PUBLIC_ID": f" {PUBLIC_ID}\n", "NUMERAI_SECRET_KEY": SECRET_KEY}
    )
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        assert input_of(app, "numerai_public_id").value == PUBLIC_ID
        assert "Pre-filled from the environment" in text(app, "#intro")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)


async def test_checking_the_keys_lists_the_models_and_choosing_one_fills_the_id(make_app) -> None:
    app = make_app(env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        assert text(app, "#keys-status") == "Keys work: account ada, 2 models."
        listed = app.screen.query_one("#model-list", SelectionList)
        listed.select(OTHER_MODEL_ID)
        await pilot.pause()
        assert input_of(app, "numerai.model_id").value == OTHER_MODEL_ID
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)
        assert app.settings.numerai.model_name == "ada_second"
        assert app.settings.numerai.model_ids == [OTHER_MODEL_ID]


async def test_ticking_two_models_submits_for_both_the_first_holds_the_webhook(make_app) -> None:
    app = make_app(env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        listed = app.screen.query_one("#model-list", SelectionList)
        listed.focus()
        listed.highlighted = 1
        await pilot.pause()
        await pilot.press("space")  # the second listed model: ada_second
        await pilot.pause()
        assert input_of(app, "numerai.model_id").value == OTHER_MODEL_ID
        await pilot.press("up", "space")  # and ada
        await pilot.pause()
        assert input_of(app, "numerai.model_id").value == OTHER_MODEL_ID  # ticked first: holds it
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)
        assert app.settings.numerai.model_ids == [OTHER_MODEL_ID, MODEL_ID]
        assert app.settings.numerai.model_name == "ada_second"
        await pilot.press("escape")  # back: the ticks and the first model are as left
        await pilot.pause()
        listed = app.screen.query_one("#model-list", SelectionList)
        assert sorted(listed.selected) == sorted([MODEL_ID, OTHER_MODEL_ID])
        assert input_of(app, "numerai.model_id").value == OTHER_MODEL_ID


async def test_unticking_the_first_model_passes_the_webhook_on_and_typing_an_id_ticks_it(
    make_app,
) -> None:
    app = make_app(env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        listed = app.screen.query_one("#model-list", SelectionList)
        input_of(app, "numerai.model_id").value = MODEL_ID  # typed: the listed model is ticked
        await pilot.pause()
        assert listed.selected == [MODEL_ID]
        listed.select(OTHER_MODEL_ID)
        await pilot.pause()
        assert input_of(app, "numerai.model_id").value == MODEL_ID
        listed.deselect(MODEL_ID)
        await pilot.pause()
        assert input_of(app, "numerai.model_id").value == OTHER_MODEL_ID
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.settings.numerai.model_ids == [OTHER_MODEL_ID]


async def test_a_saved_model_the_account_lacks_is_shown_ticked_and_refused_until_unticked(
    make_app,
) -> None:
    stranger = "99999999-8888-4777-8666-555555555555"
    app = make_app(
        answered(numerai__model_ids=[MODEL_ID, stranger]),
        env=KEYS_ENV,
    )
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        listed = app.screen.query_one("#model-list", SelectionList)
        labels = [str(listed.get_option_at_index(i).prompt) for i in range(listed.option_count)]
        assert f"not a model of this account  ({stranger})" in labels
        assert sorted(listed.selected) == sorted([MODEL_ID, stranger])  # never dropped unseen
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)  # refused, and said where the user looks
        assert stranger in error_of(app, "numerai.model_id")
        assert "untick it" in error_of(app, "numerai.model_id")
        listed.deselect(stranger)
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)
        assert app.settings.numerai.model_ids == [MODEL_ID]


async def test_keys_numerai_refuses_are_said_next_to_the_button(make_app) -> None:
    app = make_app(env={"NUMERAI_PUBLIC_ID": "Z" * 32, "NUMERAI_SECRET_KEY": SECRET_KEY})
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        assert "Numerai refused the API key" in text(app, "#keys-status")
        assert not app.screen.query_one("#check-keys", Button).disabled


async def test_a_model_of_another_account_is_refused(make_app, world) -> None:
    app = make_app(
        answered(numerai__model_id="99999999-9999-4999-8999-999999999999"),
        env=KEYS_ENV,
    )
    async with app.run_test(size=SIZE) as pilot:
        await check_keys(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert "not one of the models of this account" in error_of(app, "numerai.model_id")


async def test_keyring_switch_says_when_there_is_no_keyring(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        switch = app.screen.query_one("#f-secrets-keyring")
        assert switch.disabled
        labels = " ".join(str(w.render()) for w in app.screen.query("Label"))
        assert "no OS keyring is available" in labels


# --- back and next keep every answer -----------------------------------------------------


async def test_back_and_next_keep_every_answer_even_an_invalid_one(make_app) -> None:
    app = make_app(env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai.model_id").value = MODEL_ID
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)
        input_of(app, "azure.resource_group").value = "my rg"  # invalid: a space
        input_of(app, "azure.logic_app").value = "startmine"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)
        assert input_of(app, "numerai.model_id").value == MODEL_ID
        assert input_of(app, "numerai_public_id").value == PUBLIC_ID
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert input_of(app, "azure.resource_group").value == "my rg"
        assert input_of(app, "azure.logic_app").value == "startmine"


# --- Azure -----------------------------------------------------------------------------


async def test_sign_in_lists_subscriptions_and_regions_then_names_are_judged(
    make_app, world
) -> None:
    app = make_app(answered(azure__subscription_id="", azure__location=""))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert text(app, "#subscription-error") == "sign in to Azure to choose the subscription"
        await pilot.click("#sign-in")
        await settle(pilot)
        assert text(app, "#who") == "Signed in as ada@example.com via Azure CLI (az login)."
        sub = app.screen.query_one("#f-azure-subscription_id", Select)
        assert sub.selection == "00000000-0000-0000-0000-000000000001"  # the only one
        region = app.screen.query_one("#f-azure-location", Select)
        assert [o[1] for o in region._options if o[1] != Select.NULL] == ["eastus", "westeurope"]
        input_of(app, "azure.container_group").value = "Numerai_Predict"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert text(app, "#location-error") == "choose an Azure region, e.g. eastus or westeurope"
        assert (
            error_of(app, "azure.container_group") == "a container instance name must be lowercase"
        )
        assert app.focused is region
        region.value = "westeurope"
        input_of(app, "azure.container_group").value = "numerai-predict"
        app.screen.query_one("#trigger-managed-identity").value = True
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, SizeScreen)
        assert app.settings.azure.location == "westeurope"
        assert app.settings.azure.trigger == "managed-identity"
        assert world.sign_ins == 1


async def test_device_code_sign_in_shows_the_code_in_a_dialog(make_app, world) -> None:
    world.device_code = True
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await until(pilot, lambda: isinstance(app.screen, DeviceCodeScreen), "the device code")
        assert isinstance(app.screen, DeviceCodeScreen)
        assert text(app, "#device-code-text") == "FAKE-CODE"
        assert "https://microsoft.com/devicelogin" in text(app, "#device-uri")
        await pilot.click("#copy-code")
        assert app.clipboard == "FAKE-CODE"
        world.approve.set()
        await settle(pilot)
        assert isinstance(app.screen, AzureScreen)
        assert text(app, "#who") == "Signed in as ada@example.com via device code."


async def test_a_personal_account_is_asked_for_its_tenant_before_any_code(make_app, world) -> None:
    """At "organizations" a personal account would wait 15 minutes for nothing: the wizard
    asks the account kind first and wants the directory before it signs in."""
    world.device_code = True
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        before = list(world.personal_sign_ins)
        app.screen.query_one("#personal-account").value = True
        await pilot.click("#sign-in")
        await settle(pilot)
        assert world.personal_sign_ins == before  # nothing asked of Azure yet
        assert "enter the tenant ID" in text(app, f"#{field_id('azure.tenant_id')}-error")
        assert app.focused is input_of(app, "azure.tenant_id")
        tenant = "11111111-2222-3333-4444-555555555555"
        input_of(app, "azure.tenant_id").value = tenant
        await pilot.click("#sign-in")
        await until(pilot, lambda: isinstance(app.screen, DeviceCodeScreen), "the device code")
        assert isinstance(app.screen, DeviceCodeScreen)
        assert not app.screen.query("#device-personal-note")  # the code can work here
        world.approve.set()
        await settle(pilot)
        assert world.personal_sign_ins == [*before, (True, tenant)]
        assert app.settings.azure.tenant_id == tenant


async def test_the_device_code_dialog_warns_a_personal_account_at_the_work_sign_in(
    make_app, world
) -> None:
    world.device_code = True
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await until(pilot, lambda: isinstance(app.screen, DeviceCodeScreen), "the device code")
        note = text(app, "#device-personal-note")
        assert "personal Microsoft account" in note and "tenant" in note
        await pilot.click("#cancel-sign-in")
        await settle(pilot)


async def test_cancelling_the_device_code_says_so_and_allows_a_new_try(make_app, world) -> None:
    world.device_code = True
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await until(pilot, lambda: isinstance(app.screen, DeviceCodeScreen), "the device code")
        await pilot.click("#cancel-sign-in")
        await settle(pilot)
        assert isinstance(app.screen, AzureScreen)
        assert text(app, "#who") == "Sign-in cancelled."
        assert not app.screen.query_one("#sign-in", Button).disabled
        assert app.session.signed_in is None


async def test_an_azure_failure_while_listing_is_shown(make_app, world) -> None:
    world.fail["list_subscriptions"] = WizardError(
        "Azure refused to list your subscriptions (403 AuthorizationFailed)",
        "ask the subscription's owner for the Reader role",
    )
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await settle(pilot)
        who = text(app, "#who")
        assert "403 AuthorizationFailed" in who and "Reader role" in who


# --- size ------------------------------------------------------------------------------


async def test_size_says_when_the_regions_limits_cannot_be_read_and_what_to_do(
    make_app, world
) -> None:
    world.fail["region_limits"] = WizardError(
        "Azure answered 503 [b]ServiceUnavailable[/b]",
        "try again in a minute",
        code=ErrorCode.AZURE_UNREACHABLE,
    )
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await settle(pilot)
        assert isinstance(app.screen, SizeScreen)
        # the failure as every step shows one: what failed, then what to do; the text as sent
        assert text(app, "#limits").splitlines() == [
            "✗ Could not read the region's limits: Azure answered 503 [b]ServiceUnavailable[/b]",
            "What to do: try again in a minute",
        ]
        assert text(app, "#cost").startswith("Cost: about $0.01 per run")  # the rest still works


async def test_size_uses_the_regions_real_maximum_and_estimates_the_cost(make_app, world) -> None:
    world.limits = (4.0, 2.0)
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, SizeScreen)
        assert text(app, "#limits") == "In eastus a container group may have up to 4 GB and 2 vCPU."
        assert text(app, "#cost").startswith("Cost: about $0.01 per run (1 vCPU, 2 GB, 15 min)")
        input_of(app, "azure.memory_gb").value = "8"
        input_of(app, "azure.cpu").value = "1,5"
        await settle(pilot)
        assert error_of(app, "azure.memory_gb") == "the memory must be between 0.5 and 4 GB"
        assert text(app, "#cost") == "Cost: fix the values below to see an estimate."
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.focused is input_of(app, "azure.memory_gb")
        input_of(app, "azure.memory_gb").value = "3.5"
        input_of(app, "run_minutes").value = "30"
        await settle(pilot)
        assert "(1.5 vCPU, 3.5 GB, 30 min)" in text(app, "#cost")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, DockerScreen)
        assert (app.settings.azure.memory_gb, app.settings.azure.cpu) == (3.5, 1.5)


async def test_the_estimate_comes_back_when_a_wrong_value_is_put_back_as_it_was(make_app) -> None:
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await settle(pilot)
        figure = text(app, "#cost")
        assert figure.startswith("Cost: about $") and "(1 vCPU, 2 GB, 15 min)" in figure
        input_of(app, "azure.memory_gb").value = "2.55"
        await settle(pilot)
        assert text(app, "#cost") == "Cost: fix the values below to see an estimate."
        assert text(app, "#cost-detail") == ""
        input_of(app, "azure.memory_gb").value = "2"
        await settle(pilot)
        assert text(app, "#cost") == figure and text(app, "#cost-detail")


async def test_memory_in_steps_of_a_tenth(make_app) -> None:
    app = make_app(answered())
    async with app.run_test(size=SIZE) as pilot:
        app.goto("size")
        await pilot.pause()
        input_of(app, "azure.memory_gb").value = "2.55"
        await pilot.pause()
        assert error_of(app, "azure.memory_gb") == "the memory goes in steps of 0.1 GB (e.g. 2.5)"


# --- Docker ----------------------------------------------------------------------------


async def test_docker_needs_a_password_to_push_and_a_hub_username(make_app) -> None:
    app = make_app(answered(docker__username=""))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("docker")
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert error_of(app, "docker.username") == "enter your Docker Hub username"
        assert error_of(app, "docker_password").startswith("enter the registry password")
        input_of(app, "docker.username").value = "ada1@example.com"
        await pilot.pause()
        assert "not your e-mail" in error_of(app, "docker.username")
        input_of(app, "docker.username").value = "ada1"
        input_of(app, "docker_password").value = "fake-registry-password"
        input_of(app, "docker.context").value = "/no/such/folder"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert error_of(app, "docker.context") == "the folder /no/such/folder does not exist"
        input_of(app, "docker.context").value = ""
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.secrets.docker_password == "fake-registry-password"


async def test_a_public_existing_image_needs_no_login(make_app) -> None:
    app = make_app(answered(docker__username="", docker__build=False))
    async with app.run_test(size=SIZE) as pilot:
        app.goto("docker")
        await pilot.pause()
        assert "Azure logs in to index.docker.io" in text(app, "#registry-note")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)


async def test_the_public_image_question_is_asked_and_kept(make_app) -> None:
    """Off by default: the models never go into a public Docker Hub repository unasked."""
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("docker")
        await pilot.pause()
        assert "created private" in text(app, "#registry-note")
        switch = app.screen.query_one("#f-docker-public_image_ok")
        assert switch.value is False
        switch.focus()
        await pilot.press("space")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.settings.docker.public_image_ok is True


# --- review ----------------------------------------------------------------------------


async def test_review_shows_the_plan_and_the_cost(make_app) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        plan = app.screen.plan
        rows = [(a.resource, a.name, a.action, a.reason) for a in plan.actions]
        assert (
            "image",
            "ada1/numerai-predict:latest",
            "create",
            "build the image and push it (Python 3.12)",
        ) in rows
        assert {r[0] for r in rows} >= {"resource_group", "container_group", "workflow", "webhook"}
        shown = text(app, "#plan")
        assert "build the image and push it" in shown and "register the Logic App's URL" in shown
        assert text(app, "#plan-status") == "Deploy makes 6 changes (6 rows below):"
        assert "per run" in text(app, "#cost")


async def test_review_sends_the_user_to_the_first_bad_field(make_app) -> None:
    app = make_app(answered(), env={"DOCKER_PASSWORD": "fake-registry-password"})
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        assert "Numerai public ID: enter your Numerai public ID" in text(app, "#problems")
        assert str(app.screen.query_one("#next", Button).label) == "Fix the first problem"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)
        assert error_of(app, "numerai_public_id").startswith("enter your Numerai public ID")
        assert app.focused is input_of(app, "numerai_public_id")


async def test_review_sends_a_bad_image_to_the_docker_step(make_app) -> None:
    app = make_app(answered(docker__image="numerai-predict:latest"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, DockerScreen)
        assert (
            error_of(app, "docker.image") == "push to your own account: ada1/numerai-predict:latest"
        )
        assert app.focused is input_of(app, "docker.image")


async def test_a_plan_failure_is_shown_with_its_hint(make_app, world) -> None:
    world.fail["observe"] = WizardError(
        "cannot reach Azure at https://example.invalid", "check the ARM endpoint"
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        status = text(app, "#plan-status")
        assert "cannot reach Azure" in status and "What to do: check the ARM endpoint" in status


async def test_review_refuses_to_deploy_while_another_run_holds_the_lock(make_app) -> None:
    from tests.support.lock_holder import lock_held_elsewhere

    settings = answered()
    a = settings.azure
    with lock_held_elsewhere(a.subscription_id, a.resource_group, "deploy") as pid:
        app = make_app(settings, env=FULL_ENV)
        async with app.run_test(size=SIZE) as pilot:
            app.goto("review")
            await settle(pilot)
            shown = text(app, "#locked")
            assert f"PID {pid}" in shown and "'deploy'" in shown and "one run at a time" in shown
            await pilot.press("ctrl+n")
            await settle(pilot)
            assert isinstance(app.screen, ReviewScreen)  # Deploy did not start
    # the other run ended: the same screen goes ahead
    app = make_app(settings, env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        assert not app.screen.query_one("#locked").display
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, DeployScreen)


# --- deploy and done -------------------------------------------------------------------


async def _deploy(pilot) -> None:
    app = pilot.app
    app.goto("review")
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    assert isinstance(app.screen, DeployScreen)


async def test_deploy_shows_steps_progress_and_log_then_done(make_app, world, config) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        steps = text(app, "#steps-text")
        assert "✓ Checking Docker, Azure and Numerai" in steps
        assert "✓ Build ada1/numerai-predict:latest: built in 4 steps" in steps
        assert "✓ Registering the webhook with Numerai" in steps and "✗" not in steps
        build = app.screen.query_one("#build-progress", ProgressBar)
        push = app.screen.query_one("#push-progress", ProgressBar)
        assert build.percentage == 1 and push.percentage == 1
        assert text(app, "#push-label") == "Push: 12.0 MB of 12.0 MB"
        log = "\n".join(s.text for s in app.screen.query_one("#log", RichLog).lines)
        assert "Step 4/4 : RUN fake step 4" in log and "Deploy finished." in log
        assert world.webhooks == {MODEL_ID: WEBHOOK_URL}
        assert load(config).settings.docker.image == "ada1/numerai-predict:latest"  # saved
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        assert text(app, "#webhook-url") == WEBHOOK_URL  # whole
        assert text(app, "#numerai-status").startswith("✓ The webhook of ada_model is")
        assert "Container group numerai-predict (create)" in text(app, "#changed")
        await pilot.click("#copy-url")
        assert app.clipboard == WEBHOOK_URL


async def test_the_log_pane_shows_control_sequences_escaped_never_executed(make_app, world) -> None:
    world.build_output = ["\x1b]52;c;cHduZWQ=\x07copied\x1b[2J cleared \x9b31m red"]
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        log = "\n".join(s.text for s in app.screen.query_one("#log", RichLog).lines)
        assert "\\x1b]52;c;cHduZWQ=\\x07copied\\x1b[2J cleared \\x9b31m red" in log
        assert not any(c in log for c in "\x1b\x07\x9b")


async def test_two_models_register_one_webhook_and_done_says_which(make_app, world) -> None:
    app = make_app(answered(numerai__model_ids=[MODEL_ID, OTHER_MODEL_ID]), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        assert world.webhooks == {MODEL_ID: WEBHOOK_URL}  # the first model's only
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        assert text(app, "#numerai-status") == (
            "✓ The webhook of ada_model is the Logic App's URL.\n"
            "One run a round submits for 2 models: ada_model, ada_second."
        )


async def test_done_checks_the_connection_until_it_reads_connected(make_app, world) -> None:
    world.connected_after = 3
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        manual = text(app, "#manual")
        assert "One manual step" in manual and "connections/aci/edit" in manual
        app.screen.poll_seconds = 0.01
        await pilot.click("#copy-link")
        assert app.clipboard.endswith("/connections/aci/edit")
        await pilot.click("#check-connection")
        await settle(pilot)
        assert text(app, "#connection-status").startswith("✓ Connected")
        assert world.status_calls == 3


async def test_managed_identity_needs_no_manual_step(make_app) -> None:
    app = make_app(answered(azure__trigger="managed-identity"), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#next")
        await pilot.pause()
        assert text(app, "#manual").startswith("✓ No manual step")
        assert not app.screen.query("#check-connection")


async def test_a_failure_shows_message_hint_retry_and_back_keeps_answers(make_app, world) -> None:
    world.fail["container_group"] = WizardError(
        "Azure refused to create container group numerai-predict: 409 Conflict",
        "wait a minute and retry",
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        failure = text(app, "#failure")
        assert "409 Conflict" in failure and "What to do: wait a minute and retry" in failure
        assert "✗ Container group numerai-predict" in text(app, "#steps-text")
        assert app.screen.query_one("#retry", Button).display
        assert app.focused is app.screen.query_one("#retry")
        assert world.webhooks == {}
        del world.fail["container_group"]
        await pilot.click("#retry")
        await settle(pilot)
        assert not app.screen.query_one("#failure").display
        assert world.webhooks == {MODEL_ID: WEBHOOK_URL}


async def test_back_after_a_failure_lands_on_the_field_to_fix(make_app, world) -> None:
    world.fail["push"] = WizardError(
        "the registry refused the push: denied", "check the image name"
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#back")
        await pilot.pause()
        assert isinstance(app.screen, DockerScreen)
        assert "the registry refused the push" in error_of(app, "docker.image")
        assert app.focused is input_of(app, "docker.image")
        assert input_of(app, "docker_password").value == "fake-registry-password"


async def test_back_after_an_azure_step_failure_lands_on_the_azure_answers(make_app, world) -> None:
    world.fail["workflow"] = WizardError(
        "Azure refused to create Logic App numerai-predict-trigger: 409 Conflict", "wait"
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        await pilot.click("#back")
        await pilot.pause()
        assert isinstance(app.screen, AzureScreen)
        assert "409 Conflict" in error_of(app, "azure.resource_group")


async def test_a_refused_public_repository_lands_on_the_public_image_question(
    make_app, world
) -> None:
    world.fail["build"] = WizardError(
        "The Docker Hub repository ada1/numerai-predict is public. The image holds your "
        "trained models (models/), so anyone could pull them. Nothing was pushed.",
        "Make it private on hub.docker.com, or set docker.public_image_ok = true",
        code=ErrorCode.IMAGE_PUBLIC,
        exit_code=2,
        field="docker.public_image_ok",
    )
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        assert "is public" in text(app, "#failure")
        await pilot.click("#back")
        await pilot.pause()
        assert isinstance(app.screen, DockerScreen)
        assert app.focused is app.screen.query_one("#f-docker-public_image_ok")


async def test_cancel_stops_the_run_and_says_so(make_app, world) -> None:
    world.block["build"] = threading.Event()  # never set: only cancel ends it
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto("review")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "Build" in text(app, "#steps-text"), "Build")
        await pilot.click("#cancel")
        await settle(pilot)
        assert text(app, "#failure").startswith("✗ Cancelled")
        assert world.applied == []


async def test_log_pane_masks_secrets(make_app, world) -> None:
    class Leaky(FakeDocker):
        def check_daemon(self) -> str:
            return "engine with login fake-registry-password"

    app = make_app(answered(), env=FULL_ENV)
    app.session.engines.image = Leaky(world)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        log = "\n".join(s.text for s in app.screen.query_one("#log", RichLog).lines)
        assert "engine with login ***" in log and "fake-registry-password" not in log


# --- commands --------------------------------------------------------------------------


async def test_save_settings_command_writes_answers_but_never_a_secret(
    make_app, config: Path
) -> None:
    app = make_app(env=KEYS_ENV)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Save settings" in titles and "Open log file" in titles
        app.goto("numerai")
        await pilot.pause()
        input_of(app, "numerai.model_id").value = MODEL_ID
        app.action_save_settings()
        await pilot.pause()
    body = config.read_text()
    assert MODEL_ID in body and PUBLIC_ID not in body and SECRET_KEY not in body


async def test_open_log_file_shows_it_redacted(make_app, tmp_path) -> None:
    log = tmp_path / "wizard.log"
    log.write_text("INFO azure: GET ...&sig=REALLOOKINGSIG&x=1\n")
    app = make_app(log_path=log)
    async with app.run_test(size=SIZE) as pilot:
        app.action_open_log()
        await pilot.pause()
        lines = app.screen.query_one("#log-file-text", TextArea).text
        assert "sig=***" in lines and "REALLOOKINGSIG" not in lines
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


# --- every field's rule, as the user sees it ------------------------------------------------

BAD_VALUES = [
    ("numerai", "numerai_public_id", "ABC", check_public_id),
    ("numerai", "numerai_secret_key", "x" * 64, check_secret_key),
    ("numerai", "numerai.model_id", "1234", check_model_id),
    ("azure", "azure.resource_group", "rg.", check_resource_group),
    ("azure", "azure.container_group", "numerai--predict", check_container_group),
    ("azure", "azure.logic_app", "start aci", check_logic_app),
    ("azure", "azure.arm_endpoint", "http://localhost", check_arm_endpoint),
    ("size", "azure.memory_gb", "lots", check_memory),
    ("size", "azure.cpu", "9", check_cpu),
    ("size", "run_minutes", "0", None),
    ("docker", "docker.image", "Ada/Predict", check_image),
    ("docker", "docker.context", "/no/such/folder", check_context),
    ("docker", "docker.base_image", "bad image", check_base_image),
    ("docker", "docker.python", "3.9", check_python),
]


@pytest.mark.parametrize(
    ("step", "key", "bad", "check"), BAD_VALUES, ids=[b[1] for b in BAD_VALUES]
)
async def test_each_field_says_why_a_value_is_refused_and_keeps_the_cursor(
    make_app, step, key, bad, check
) -> None:
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        app.goto(step)
        await pilot.pause()
        input_of(app, key).value = bad
        await pilot.pause()
        expected = check(bad) if check else "a run takes between 1 and 600 minutes"
        assert expected and error_of(app, key) == expected
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert step == app.screen.STEP
        assert app.focused is input_of(app, key)


async def test_saved_settings_prefill_every_step(make_app) -> None:
    app = make_app(
        answered(
            azure__resource_group="saved-rg",
            azure__memory_gb=3.5,
            docker__image="ghcr.io/ada/predict:v2",
            docker__build=False,
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        app.goto("azure")
        await pilot.pause()
        assert input_of(app, "azure.resource_group").value == "saved-rg"
        assert app.screen.query_one("#f-azure-subscription_id", Select).selection is not None
        app.goto("size")
        await pilot.pause()
        assert input_of(app, "azure.memory_gb").value == "3.5"
        app.goto("docker")
        await pilot.pause()
        assert input_of(app, "docker.image").value == "ghcr.io/ada/predict:v2"
        assert app.screen.query_one("#f-docker-build").value is False


async def test_quit_button_on_the_welcome_screen(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#quit")
        await pilot.pause()
    assert app.return_value == 0


async def test_a_failed_check_goes_back_to_review(make_app, world) -> None:
    world.fail["docker"] = WizardError("cannot reach the Docker engine", "start Docker Desktop")
    app = make_app(answered(), env=FULL_ENV)
    async with app.run_test(size=SIZE) as pilot:
        await _deploy(pilot)
        failure = text(app, "#failure")
        assert "cannot reach the Docker engine" in failure and "start Docker Desktop" in failure
        assert "✗ Checking Docker, Azure and Numerai" in text(app, "#steps-text")
        await pilot.click("#back")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
