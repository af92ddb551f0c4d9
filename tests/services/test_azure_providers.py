"""Resource providers on a fresh subscription, against the ARM stand-in taught them:
unregistered namespaces answer 409 MissingSubscriptionRegistration, POST .../register
may be refused (403), and a registration stays "Registering" for a while.

What a user would notice: deploy registers what it needs before creating anything, with
progress, in a wait that is bounded and that Cancel stops; an account that may not
register providers is stopped at once, told which ones and the command an owner runs.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from numerai_aci_wizard.events import Cancelled, LogLine, Progress, WizardError
from numerai_aci_wizard.services import azure_providers
from numerai_aci_wizard.services.azure_provision import Azure
from tests.support import ARM_SECRETS, arm_settings

FRESH = {"microsoft.containerinstance", "microsoft.logic", "microsoft.web"}


def test_deploy_on_a_fresh_subscription_registers_the_providers_first(
    arm_server: Any, credential: Any
) -> None:
    arm_server.unregistered_providers = set(FRESH)
    events: list[Any] = []
    azure = Azure(arm_settings(arm_server), credential, polling_interval=0, emit=events.append)
    assert azure.region_limits("eastus") == azure_providers.STANDARD_LIMITS  # unreadable yet
    assert azure.observe().container_group is None
    result = azure.apply(ARM_SECRETS)
    assert result.webhook_url
    writes = [(r.method, r.path) for r in arm_server.writes()]
    registers = [w for w in writes if w[1].endswith("/register")]
    assert sorted(p.rsplit("/", 2)[1] for _, p in registers) == [
        "Microsoft.ContainerInstance",
        "Microsoft.Logic",
        "Microsoft.Web",
    ]
    assert writes[: len(registers)] == registers  # before anything is created
    assert not any(r.api_version == "2016-02-01" for r in arm_server.requests)  # no SDK loop
    said = [e.text for e in events if isinstance(e, LogLine) and e.step == "providers"]
    assert said[0].startswith("Registering the resource providers Microsoft.ContainerInstance")
    assert any(isinstance(e, Progress) and "registering" in e.detail for e in events)


def test_a_refused_registration_stops_at_once_naming_the_providers(
    arm_server: Any, credential: Any
) -> None:
    arm_server.unregistered_providers = {"microsoft.containerinstance", "microsoft.logic"}
    arm_server.can_register_providers = False
    azure = Azure(arm_settings(arm_server, "managed-identity"), credential, polling_interval=0)
    with pytest.raises(WizardError) as caught:
        azure.apply(ARM_SECRETS)
    error = caught.value
    assert (error.code, error.exit_code) == ("azure_providers", 2)
    assert (
        "may not register the resource providers Microsoft.ContainerInstance, Microsoft.Logic"
        in error.message
    )
    assert "az provider register --namespace Microsoft.ContainerInstance" in error.hint
    assert "az provider register --namespace Microsoft.Logic" in error.hint
    assert "conflict" not in str(error).lower() and "wait a minute" not in str(error)
    assert all(r.path.endswith("/register") for r in arm_server.writes())  # nothing created


def test_without_the_up_front_step_the_409_is_explained_not_looped(
    arm_server: Any, credential: Any
) -> None:
    """A call that meets MissingSubscriptionRegistration anyway: no SDK registration loop,
    no 'name conflict' reading."""
    arm_server.unregistered_providers = {"microsoft.containerinstance"}
    azure = Azure(arm_settings(arm_server), credential, polling_interval=0)
    with pytest.raises(WizardError) as caught:
        azure.logs(10)
    assert caught.value.code == "azure_providers"
    assert "not registered for Microsoft.ContainerInstance" in caught.value.message
    assert "az provider register --namespace Microsoft.ContainerInstance" in caught.value.hint
    assert not any(r.path.endswith("/register") for r in arm_server.requests)


def _resources(arm_server: Any, credential: Any) -> Any:
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(
        credential, arm_server.subscription_id, base_url=arm_server.endpoint
    )


def test_the_wait_is_bounded(arm_server: Any, credential: Any) -> None:
    arm_server.unregistered_providers = {"microsoft.logic"}
    arm_server.registration_polls = 10**6
    ticks = iter(range(0, 10**6, 100))  # Azure time: each look is 100 s later
    with pytest.raises(WizardError) as caught:
        azure_providers.ensure_registered(
            _resources(arm_server, credential),
            [azure_providers.LOGIC],
            subscription_id=arm_server.subscription_id,
            interval=0,
            timeout=600,
            clock=lambda: float(next(ticks)),
        )
    assert caught.value.code == "azure_providers"
    assert "still registering after 600 s" in caught.value.message
    assert "az provider show --namespace Microsoft.Logic" in caught.value.hint


def test_cancel_stops_the_wait(arm_server: Any, credential: Any) -> None:
    arm_server.unregistered_providers = {"microsoft.logic"}
    arm_server.registration_polls = 10**6
    cancel = threading.Event()
    seen: list[Any] = []

    def emit(event: Any) -> None:
        seen.append(event)
        if isinstance(event, Progress):
            cancel.set()  # the user presses Cancel while it waits

    with pytest.raises(Cancelled):
        azure_providers.ensure_registered(
            _resources(arm_server, credential),
            [azure_providers.LOGIC],
            subscription_id=arm_server.subscription_id,
            emit=emit,
            cancel=cancel,
            interval=5,
        )
    assert any(isinstance(e, Progress) for e in seen)


def test_registered_providers_are_left_alone(arm_server: Any, credential: Any) -> None:
    done = azure_providers.ensure_registered(
        _resources(arm_server, credential),
        azure_providers.needed("api-connection"),
        subscription_id=arm_server.subscription_id,
    )
    assert done == [] and arm_server.writes() == []


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_the_region_list_offers_only_regions_with_everything_the_deploy_needs(
    arm_server: Any, credential: Any, trigger: str
) -> None:
    """Container Instances, Logic Apps and (api-connection) the managed API connections."""
    arm_server.logic_locations -= {"uksouth"}  # no Logic Apps there
    arm_server.managed_api_locations -= {"northeurope"}  # no managed connectors there
    azure = Azure(arm_settings(arm_server, trigger), credential, polling_interval=0)
    names = {loc.name for loc in azure.list_locations()}
    assert "eastus" in names and "westeurope" in names
    assert "brazilsouth" not in names  # no Container Instances
    assert "uksouth" not in names
    assert ("northeurope" in names) == (trigger == "managed-identity")
