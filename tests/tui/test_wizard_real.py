"""The whole wizard against the real engines: local ARM, fake `az`, dockerd + registry, Numerai.

The same clicks and keys a user makes, with ``Services.real()``: the Numerai keys are checked
and the models listed by numerapi, Azure is signed in through AzureCliCredential and listed
by the Azure SDK, the image is built FROM a local busybox base and pushed to a real
registry, and the Done screen shows the webhook URL that numerai_server now holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select, SelectionList

from numerai_aci_wizard.tui.app import WizardApp
from numerai_aci_wizard.tui.screens import (
    AzureScreen,
    DeployScreen,
    DockerScreen,
    DoneScreen,
    NumeraiScreen,
    ReviewScreen,
    SizeScreen,
)
from tests.tui.conftest import SIZE, input_of, settle, text

pytestmark = pytest.mark.docker


@pytest.fixture
def user_env(arm_server, az_cli_login, keys_in_env, small_context: Path) -> Path:
    """A first-time user: keys and registry password in the environment, a small build context."""
    return small_context


async def test_the_wizard_sets_up_the_pipeline_end_to_end(
    user_env: Path, arm_server, docker_env, numerai_server, busybox_base, tmp_path
) -> None:
    config = tmp_path / "config.toml"
    app = WizardApp(config, blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, NumeraiScreen)
        assert input_of(app, "numerai_public_id").value == numerai_server.public_id
        await pilot.click("#check-keys")
        await settle(pilot)
        assert text(app, "#keys-status").startswith("Keys work")
        app.screen.query_one("#model-list", SelectionList).select(numerai_server.model_id)
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, AzureScreen)
        input_of(app, "azure.arm_endpoint").value = arm_server.endpoint
        input_of(app, "azure.resource_group").value = "numerai-tui"
        input_of(app, "azure.container_group").value = "numerai-tui"
        await pilot.click("#sign-in")
        await settle(pilot)
        assert text(app, "#who").startswith("Signed in as"), text(app, "#who")
        assert app.screen.query_one("#f-azure-subscription_id", Select).selection is not None
        app.screen.query_one("#f-azure-location", Select).value = "eastus"
        await pilot.press("ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, SizeScreen)
        assert text(app, "#limits").startswith("In eastus a container group may have up to 16 GB")
        input_of(app, "azure.memory_gb").value = "1.5"
        await pilot.press("ctrl+n")
        await pilot.pause()

        assert isinstance(app.screen, DockerScreen)
        input_of(app, "docker.image").value = f"{docker_env.registry}/tui/predict:latest"
        input_of(app, "docker.username").value = docker_env.registry_username
        assert input_of(app, "docker_password").value == docker_env.registry_password
        input_of(app, "docker.context").value = str(user_env)
        input_of(app, "docker.base_image").value = busybox_base
        await pilot.press("ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, ReviewScreen), app.screen
        assert text(app, "#plan-status").startswith("Deploy makes "), text(app, "#plan-status")
        assert {a.resource for a in app.screen.plan.actions} >= {"container_group", "workflow"}
        await pilot.press("ctrl+n")
        await settle(pilot)

        assert isinstance(app.screen, DeployScreen)
        assert not app.screen.query_one("#failure").display, text(app, "#failure")
        steps = text(app, "#steps-text")
        assert "✗" not in steps and "✓ Registering the webhook with Numerai" in steps
        await pilot.click("#next")
        await pilot.pause()

        assert isinstance(app.screen, DoneScreen)
        url = text(app, "#webhook-url")
        assert url.startswith("https://") and "sig=" in url
        assert numerai_server.webhooks[numerai_server.model_id] == url
        group = arm_server.container_group("numerai-tui", "numerai-tui")
        assert group is not None
        assert (
            group["properties"]["containers"][0]["properties"]["resources"]["requests"][
                "memoryInGB"
            ]
            == 1.5
        )
        assert text(app, "#numerai-status").startswith("✓ The webhook of ")

        # the one manual step, then the status check polls the real connection
        app.screen.poll_seconds = 0.05
        arm_server.authorize_connection("aci")
        await pilot.click("#check-connection")
        await settle(pilot)
        assert text(app, "#connection-status").startswith("✓ Connected")
    saved = config.read_text()
    assert "numerai-tui" in saved and numerai_server.secret_key not in saved
