"""The fake Azure is only worth testing against if it behaves like Azure: these drive it with
the real azure SDK clients and azure-identity credentials and check what a caller would see."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.arm import ROLE_ACI_CONTRIBUTOR, ArmServer, ContainerRun, RunOutcome

RG = "numerai-rg"
CG = "numerai-predict"
ARM_SCOPE = "https://management.azure.com/.default"


class StaticToken:
    """A credential for tests that are not about sign-in."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("header.payload.signature", int(time.time()) + 3600)


def _kw(arm: ArmServer) -> dict[str, Any]:
    return {"base_url": arm.endpoint, "polling_interval": 0, "retry_backoff_factor": 0.01}


def _resources(arm: ArmServer, cred: Any = None) -> Any:
    from azure.mgmt.resource.resources import ResourceManagementClient

    return ResourceManagementClient(cred or StaticToken(), arm.subscription_id, **_kw(arm))


def _aci(arm: ArmServer) -> Any:
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient

    return ContainerInstanceManagementClient(StaticToken(), arm.subscription_id, **_kw(arm))


def _logic(arm: ArmServer) -> Any:
    from azure.mgmt.logic import LogicManagementClient

    return LogicManagementClient(StaticToken(), arm.subscription_id, **_kw(arm))


def _auth(arm: ArmServer) -> Any:
    from azure.mgmt.authorization import AuthorizationManagementClient

    return AuthorizationManagementClient(StaticToken(), arm.subscription_id, base_url=arm.endpoint)


def _rg(arm: ArmServer, name: str = RG) -> None:
    from azure.mgmt.resource.resources.models import ResourceGroup

    _resources(arm).resource_groups.create_or_update(
        name, ResourceGroup(location="eastus", tags={"managed-by": "numerai-aci-wizard"})
    )


def _group(memory: float = 2.5, cpu: float = 1, image: str = "me/predict:latest", **kw: Any) -> Any:
    from azure.mgmt.containerinstance import models as m

    return m.ContainerGroup(
        location=kw.pop("location", "eastus"),
        os_type="Linux",
        restart_policy=kw.pop("restart_policy", "Never"),
        image_registry_credentials=[
            m.ImageRegistryCredential(server="index.docker.io", username="me", password="hub-pw")
        ],
        containers=[
            m.Container(
                name=CG,
                image=image,
                resources=m.ResourceRequirements(
                    requests=m.ResourceRequests(memory_in_gb=memory, cpu=cpu)
                ),
                environment_variables=[
                    m.EnvironmentVariable(name="NUMERAI_SECRET_KEY", secure_value="sekrit"),
                    m.EnvironmentVariable(name="NUMERAI_MODEL_ID", value="model-1"),
                ],
            )
        ],
        **kw,
    )


def _cg_id(arm: ArmServer, name: str = CG) -> str:
    return (
        f"/subscriptions/{arm.subscription_id}/resourceGroups/{RG}/providers/"
        f"Microsoft.ContainerInstance/containerGroups/{name}"
    )


# ------------------------------------------------------------------ discovery
def test_discovery_lists_subscription_regions_and_aci_availability(arm_server: ArmServer) -> None:
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    subs = SubscriptionClient(StaticToken(), **_kw(arm_server))
    (sub,) = list(subs.subscriptions.list())
    assert (sub.subscription_id, sub.state) == (arm_server.subscription_id, "Enabled")
    locations = {
        loc.name: loc.display_name for loc in subs.subscriptions.list_locations(sub.subscription_id)
    }
    assert locations["eastus"] == "East US" and "westeurope" in locations

    provider = _resources(arm_server).providers.get("Microsoft.ContainerInstance")
    groups = next(rt for rt in provider.resource_types if rt.resource_type == "containerGroups")
    assert "East US" in groups.locations and "Brazil South" not in groups.locations

    arm_server.max_memory_gb = 8
    caps = list(_aci(arm_server).location.list_capabilities("eastus"))
    linux = [c for c in caps if c.os_type == "Linux"]
    assert linux and all(c.capabilities.max_memory_in_gb == 8 for c in linux)
    assert all(c.capabilities.max_cpu == 4 for c in linux)


def test_requests_need_a_bearer_token_and_a_known_api_version(arm_server: ArmServer) -> None:
    url = f"{arm_server.endpoint}/subscriptions?api-version=2022-12-01"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"

    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.resource.resources import ResourceManagementClient

    future = ResourceManagementClient(
        StaticToken(), arm_server.subscription_id, api_version="2099-01-01", **_kw(arm_server)
    )
    with pytest.raises(HttpResponseError) as err:
        future.resource_groups.get(RG)
    assert (err.value.status_code, err.value.error.code) == (400, "InvalidApiVersionParameter")
    got = requests.get(
        f"{arm_server.endpoint}/subscriptions/{arm_server.subscription_id}/resourcegroups"
        "?api-version=2099-01-01",
        headers={"Authorization": "Bearer x.y.z"},
        timeout=10,
    )
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "InvalidApiVersionParameter"


# ------------------------------------------------------------------ resource groups
def test_resource_group_lifecycle_delete_is_an_lro_that_removes_contents(
    arm_server: ArmServer,
) -> None:
    client = _resources(arm_server)
    assert client.resource_groups.check_existence(RG) is False
    _rg(arm_server)
    assert client.resource_groups.check_existence(RG) is True
    assert client.resource_groups.get(RG).tags == {"managed-by": "numerai-aci-wizard"}
    _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group()).result()
    assert [r.name for r in client.resources.list_by_resource_group(RG)] == [CG]
    exists = client.resources.check_existence_by_id
    assert exists(_cg_id(arm_server), api_version="2023-05-01") is True
    assert exists(_cg_id(arm_server, "other"), api_version="2023-05-01") is False

    arm_server.lro_seconds = 0.3
    poller = client.resource_groups.begin_delete(RG)
    assert client.resource_groups.get(RG).properties.provisioning_state == "Deleting"
    poller.result()
    assert client.resource_groups.check_existence(RG) is False
    assert arm_server.resources == {}
    delete = next(r for r in arm_server.requests if r.method == "DELETE")
    assert delete.status == 202
    assert any(r.is_poll and "/operationresults/" in r.path for r in arm_server.requests)


# ------------------------------------------------------------------ container groups
def test_group_create_is_an_lro_the_poller_follows_and_the_group_runs(
    arm_server: ArmServer,
) -> None:
    _rg(arm_server)
    arm_server.lro_seconds = 0.4
    arm_server.retry_after = 0
    arm_server.clear_requests()
    seen: list[ContainerRun] = []

    def run(job: ContainerRun) -> RunOutcome:
        seen.append(job)
        return RunOutcome(exit_code=0, logs="".join(f"line {i}\n" for i in range(50)))

    arm_server.run_container = run
    poller = _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group())
    assert arm_server.group_state(CG) is None  # not started while the create is in progress
    created = poller.result()
    assert created.provisioning_state == "Succeeded"

    put = arm_server.requests[0]
    assert (put.method, put.status, put.api_version) == ("PUT", 201, "2023-05-01")
    polls = [r for r in arm_server.requests if r.is_poll]
    assert len(polls) >= 2, "the poller should have seen InProgress at least once"
    assert all("/operationStatuses/" in r.path for r in polls)
    assert [r for r in arm_server.writes()] == [put]

    outcome = arm_server.wait_for_run(CG)
    assert outcome.exit_code == 0
    assert seen[0].env == {"NUMERAI_SECRET_KEY": "sekrit", "NUMERAI_MODEL_ID": "model-1"}
    assert seen[0].registry_credentials[0]["password"] == "hub-pw"
    assert (seen[0].cpu, seen[0].memory_gb, seen[0].image) == (1.0, 2.5, "me/predict:latest")

    group = _aci(arm_server).container_groups.get(RG, CG)
    assert group.instance_view.state == "Succeeded"
    state = group.containers[0].instance_view.current_state
    assert (state.state, state.exit_code, state.detail_status) == ("Terminated", 0, "Completed")
    assert state.start_time <= state.finish_time
    logs = _aci(arm_server).containers.list_logs(RG, CG, CG, tail=3).content
    assert logs == "line 47\nline 48\nline 49\n"


def test_get_never_returns_secure_values_but_they_were_sent(arm_server: ArmServer) -> None:
    _rg(arm_server)
    created = _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group()).result()
    for group in (created, _aci(arm_server).container_groups.get(RG, CG)):
        env = {e.name: (e.value, e.secure_value) for e in group.containers[0].environment_variables}
        assert env == {"NUMERAI_SECRET_KEY": (None, None), "NUMERAI_MODEL_ID": ("model-1", None)}
        assert group.image_registry_credentials[0].password is None
        assert group.image_registry_credentials[0].username == "me"
    raw = requests.get(
        f"{arm_server.endpoint}{_cg_id(arm_server)}?api-version=2023-05-01",
        headers={"Authorization": "Bearer a.b.c"},
        timeout=10,
    ).text
    assert "sekrit" not in raw and "hub-pw" not in raw
    stored = arm_server.resources[_cg_id(arm_server).lower()]
    assert stored["properties"]["containers"][0]["properties"]["environmentVariables"][0] == {
        "name": "NUMERAI_SECRET_KEY",
        "secureValue": "sekrit",
    }


def test_immutable_changes_give_409_while_image_changes_update_and_rerun(
    arm_server: ArmServer,
) -> None:
    from azure.core.exceptions import HttpResponseError

    _rg(arm_server)
    aci = _aci(arm_server)
    aci.container_groups.begin_create_or_update(RG, CG, _group()).result()
    arm_server.wait_for_run(CG)
    for changed in (_group(memory=4), _group(cpu=2), _group(restart_policy="OnFailure")):
        with pytest.raises(HttpResponseError) as err:
            aci.container_groups.begin_create_or_update(RG, CG, changed).result()
        assert err.value.status_code == 409
        assert err.value.error.code == "InvalidContainerGroupUpdate"

    updated = aci.container_groups.begin_create_or_update(
        RG, CG, _group(image="me/predict:v2")
    ).result()
    assert updated.containers[0].image == "me/predict:v2"
    puts = [r for r in arm_server.writes() if r.method == "PUT" and "containerGroups" in r.path]
    assert [r.status for r in puts] == [201, 409, 409, 409, 200]
    arm_server.wait_for_run(CG)
    assert [run.image for run in arm_server.runs] == ["me/predict:latest", "me/predict:v2"]


def test_invalid_bodies_are_refused_with_400_naming_the_field(arm_server: ArmServer) -> None:
    from azure.core.exceptions import HttpResponseError

    _rg(arm_server)
    with pytest.raises(HttpResponseError) as err:
        _aci(arm_server).container_groups.begin_create_or_update(
            RG, CG, _group(restart_policy="Sometimes")
        ).result()
    assert err.value.status_code == 400
    assert err.value.error.code == "InvalidRequestContent"
    assert "properties.restartPolicy" in err.value.error.message

    body = {"location": "eastus", "properties": {"osType": "Linux", "restartPolicy": "Never"}}
    with pytest.raises(HttpResponseError) as err:
        _resources(arm_server).resources.begin_create_or_update_by_id(
            _cg_id(arm_server), body, api_version="2023-05-01"
        ).result()
    assert err.value.status_code == 400
    assert "'containers' is a required property" in err.value.error.message
    assert arm_server.resources.get(_cg_id(arm_server).lower()) is None


def test_location_without_aci_and_sizes_above_capabilities_are_refused(
    arm_server: ArmServer,
) -> None:
    from azure.core.exceptions import HttpResponseError

    _rg(arm_server)
    with pytest.raises(HttpResponseError) as err:
        _aci(arm_server).container_groups.begin_create_or_update(
            RG, CG, _group(location="brazilsouth")
        ).result()
    assert err.value.error.code == "LocationNotAvailableForResourceType"
    with pytest.raises(HttpResponseError) as err:
        _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group(memory=32)).result()
    assert err.value.status_code == 400 and "memory: 32 GB" in err.value.error.message


def test_stop_start_and_a_failing_run(arm_server: ArmServer) -> None:
    _rg(arm_server)
    aci = _aci(arm_server)
    aci.container_groups.begin_create_or_update(RG, CG, _group()).result()
    arm_server.wait_for_run(CG)
    aci.container_groups.stop(RG, CG)
    stopped = aci.container_groups.get(RG, CG)
    assert stopped.instance_view.state == "Stopped"
    assert stopped.containers[0].instance_view is None

    arm_server.run_container = lambda job: RunOutcome(exit_code=3, logs="boom\n")
    aci.container_groups.begin_start(RG, CG).result()
    assert arm_server.wait_for_run(CG).exit_code == 3
    group = aci.container_groups.get(RG, CG)
    assert group.instance_view.state == "Failed"
    assert group.containers[0].instance_view.current_state.exit_code == 3
    assert group.containers[0].instance_view.previous_state is None
    assert aci.containers.list_logs(RG, CG, CG).content == "boom\n"
    assert len(arm_server.runs) == 2


def test_a_group_is_running_while_its_container_runs(arm_server: ArmServer) -> None:
    import threading

    _rg(arm_server)
    release = threading.Event()

    def run(job: ContainerRun) -> RunOutcome:
        arm_server.append_log(job, "downloading live data\n")
        release.wait(10)
        return RunOutcome(logs="downloading live data\nsubmitted\n")

    arm_server.run_container = run
    aci = _aci(arm_server)
    aci.container_groups.begin_create_or_update(RG, CG, _group()).result()
    group = aci.container_groups.get(RG, CG)
    assert group.instance_view.state == "Running"
    assert group.containers[0].instance_view.current_state.state == "Running"
    deadline = time.monotonic() + 10
    while aci.containers.list_logs(RG, CG, CG).content == "" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert aci.containers.list_logs(RG, CG, CG).content == "downloading live data\n"
    release.set()
    arm_server.wait_for_run(CG)
    assert aci.container_groups.get(RG, CG).instance_view.state == "Succeeded"
    assert aci.containers.list_logs(RG, CG, CG, tail=1).content == "submitted\n"


# ------------------------------------------------------------------ faults
def test_throttling_and_transient_errors_are_retried_by_the_sdk(arm_server: ArmServer) -> None:
    _rg(arm_server)
    arm_server.fail("GET", r"/resourcegroups/numerai-rg$", 429, headers={"Retry-After": "1"})
    arm_server.fail("GET", r"/resourcegroups/numerai-rg$", 500)
    assert _resources(arm_server).resource_groups.get(RG).name == RG
    gets = [r.status for r in arm_server.requests if r.method == "GET"]
    assert gets == [429, 500, 200]


def test_injected_403_and_failed_lro_surface_with_their_codes(arm_server: ArmServer) -> None:
    from azure.core.exceptions import HttpResponseError

    _rg(arm_server)
    arm_server.fail("PUT", r"/containerGroups/", 403, "AuthorizationFailed", "no write for you")
    with pytest.raises(HttpResponseError) as err:
        _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group()).result()
    assert (err.value.status_code, err.value.error.code) == (403, "AuthorizationFailed")

    arm_server.fail_lro(r"/containerGroups/numerai-predict$", "InaccessibleImage", "cannot pull")
    with pytest.raises(HttpResponseError) as err:
        _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group()).result()
    assert err.value.error.code == "InaccessibleImage"
    assert _aci(arm_server).container_groups.get(RG, CG).provisioning_state == "Failed"
    assert arm_server.runs == []


# ------------------------------------------------------------------ connection + workflow
def _connection_id(arm: ArmServer) -> str:
    return (
        f"/subscriptions/{arm.subscription_id}/resourceGroups/{RG}/providers/"
        "Microsoft.Web/connections/aci"
    )


def _definition(
    connection_name: str = "@parameters('$connections')['aci']['connectionId']",
) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/"
        "2016-06-01/workflowdefinition.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"$connections": {"type": "Object", "defaultValue": {}}},
        "triggers": {"request": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
        "actions": {
            "start": {
                "type": "ApiConnection",
                "runAfter": {},
                "inputs": {
                    "host": {"connection": {"name": connection_name}},
                    "method": "post",
                    "path": "/start",
                },
            },
            "respond": {
                "type": "Response",
                "runAfter": {"start": ["Succeeded"]},
                "inputs": {"statusCode": 200},
            },
        },
    }


def test_api_connection_starts_unauthenticated_until_authorized(arm_server: ArmServer) -> None:
    _rg(arm_server)
    body = {
        "location": "eastus",
        "properties": {
            "displayName": "aci",
            "api": {
                "id": f"/subscriptions/{arm_server.subscription_id}/providers/Microsoft.Web/"
                "locations/eastus/managedApis/aci"
            },
        },
    }
    client = _resources(arm_server)
    client.resources.begin_create_or_update_by_id(
        _connection_id(arm_server), body, api_version="2016-06-01"
    ).result()
    status = client.resources.get_by_id(_connection_id(arm_server), api_version="2016-06-01")
    assert status.properties["statuses"][0]["status"] == "Error"
    assert status.properties["statuses"][0]["error"]["code"] == "Unauthenticated"
    arm_server.authorize_connection("aci")
    status = client.resources.get_by_id(_connection_id(arm_server), api_version="2016-06-01")
    assert status.properties["statuses"] == [{"status": "Connected"}]


def test_workflow_identity_and_callback_url(arm_server: ArmServer) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.logic.models import ManagedServiceIdentity, Workflow

    _rg(arm_server)
    logic = _logic(arm_server)

    def workflow(definition: dict[str, Any]) -> Any:
        return Workflow(
            location="eastus",
            state="Enabled",
            definition=definition,
            parameters={"$connections": {"value": {"aci": {"connectionId": "x"}}}},
            identity=ManagedServiceIdentity(type="SystemAssigned"),
        )

    with pytest.raises(HttpResponseError) as err:
        logic.workflows.create_or_update(RG, "startaci", workflow(_definition("aci")))
    assert err.value.status_code == 400 and "must be an expression" in err.value.error.message

    first = logic.workflows.create_or_update(RG, "startaci", workflow(_definition()))
    again = logic.workflows.create_or_update(RG, "startaci", workflow(_definition()))
    assert (
        first.identity.principal_id and first.identity.principal_id == again.identity.principal_id
    )
    url = logic.workflow_triggers.list_callback_url(RG, "startaci", "request").value
    assert url == logic.workflow_triggers.list_callback_url(RG, "startaci", "request").value
    parts = urlsplit(url)
    assert parts.netloc.startswith("prod-") and parts.netloc.endswith(".eastus.logic.azure.com:443")
    assert parts.path.endswith("/triggers/request/paths/invoke")
    query = parse_qs(parts.query)
    assert query["api-version"] == ["2016-10-01"] and query["sp"] == ["/triggers/request/run"]
    assert query["sv"] == ["1.0"] and len(query["sig"][0]) >= 32
    with pytest.raises(HttpResponseError) as err:
        logic.workflow_triggers.list_callback_url(RG, "startaci", "manual")
    assert err.value.status_code == 404
    assert not [r for r in arm_server.writes() if r.path.endswith("listCallbackUrl")]


# ------------------------------------------------------------------ role assignments
def test_role_assignment_rules(arm_server: ArmServer) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    from azure.mgmt.logic.models import ManagedServiceIdentity, Workflow

    _rg(arm_server)
    wf = _logic(arm_server).workflows.create_or_update(
        RG,
        "startaci",
        Workflow(
            location="eastus",
            definition=_definition(),
            identity=ManagedServiceIdentity(type="SystemAssigned"),
        ),
    )
    auth = _auth(arm_server)
    scope = f"/subscriptions/{arm_server.subscription_id}/resourceGroups/{RG}"
    role = (
        f"/subscriptions/{arm_server.subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ROLE_ACI_CONTRIBUTOR}"
    )
    params = RoleAssignmentCreateParameters(
        role_definition_id=role,
        principal_id=wf.identity.principal_id,
        principal_type="ServicePrincipal",
    )
    assert auth.role_definitions.get(scope, ROLE_ACI_CONTRIBUTOR).role_name == (
        "Azure Container Instances Contributor Role"
    )

    arm_server.can_assign_roles = False
    with pytest.raises(HttpResponseError) as err:
        auth.role_assignments.create(scope, str(uuid.uuid4()), params)
    assert (err.value.status_code, err.value.error.code) == (403, "AuthorizationFailed")
    arm_server.can_assign_roles = True

    arm_server.principal_not_found_times = 1
    name = str(uuid.uuid5(uuid.NAMESPACE_URL, scope))
    with pytest.raises(HttpResponseError) as err:
        auth.role_assignments.create(scope, name, params)
    assert err.value.error.code == "PrincipalNotFound"
    created = auth.role_assignments.create(scope, name, params)
    assert created.principal_id == wf.identity.principal_id
    assert auth.role_assignments.create(scope, name, params).name == name  # same name: idempotent

    with pytest.raises(HttpResponseError) as err:
        auth.role_assignments.create(scope, str(uuid.uuid4()), params)
    assert (err.value.status_code, err.value.error.code) == (409, "RoleAssignmentExists")
    as_user = RoleAssignmentCreateParameters(
        role_definition_id=role, principal_id=wf.identity.principal_id
    )
    with pytest.raises(HttpResponseError) as err:
        auth.role_assignments.create(scope, str(uuid.uuid4()), as_user)
    assert err.value.error.code == "UnmatchedPrincipalType"
    assert [ra.name for ra in auth.role_assignments.list_for_scope(scope)] == [name]


# ------------------------------------------------------------------ sign-in
def test_az_cli_credential_gets_a_token_arm_accepts(
    arm_server: ArmServer, az_cli_login: Any
) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import AzureCliCredential, CredentialUnavailableError

    token = AzureCliCredential().get_token(ARM_SCOPE)
    payload = json.loads(_b64(token.token.split(".")[1]))
    assert (payload["upn"], payload["oid"], payload["tid"]) == (
        az_cli_login.username,
        az_cli_login.oid,
        az_cli_login.tenant_id,
    )
    assert token.expires_on == az_cli_login.expires_on
    groups = _resources(arm_server, AzureCliCredential()).resource_groups.list()
    assert list(groups) == []
    assert az_cli_login.calls()[0][:2] == ["account", "get-access-token"]

    az_cli_login.logout()
    with pytest.raises(CredentialUnavailableError, match="az login"):
        AzureCliCredential().get_token(ARM_SCOPE)
    assert issubclass(CredentialUnavailableError, ClientAuthenticationError)


def test_device_code_credential_signs_in_against_the_local_entra(
    arm_server: ArmServer, entra_server: Any
) -> None:
    import threading

    from azure.identity import DeviceCodeCredential

    entra_server.auto_approve = False
    prompts: list[tuple[str, str]] = []
    cred = DeviceCodeCredential(
        authority=entra_server.authority,
        tenant_id=entra_server.tenant_id,
        disable_instance_discovery=True,
        prompt_callback=lambda uri, code, expires: prompts.append((uri, code)),
    )
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(record=cred.authenticate(scopes=[ARM_SCOPE]))
    )
    worker.start()
    code = entra_server.wait_for_code()
    entra_server.wait_for_poll()
    entra_server.approve(code)
    worker.join(30)
    record = result["record"]
    assert prompts == [("https://microsoft.com/devicelogin", code)]
    assert (record.username, record.tenant_id) == (entra_server.username, entra_server.tenant_id)
    assert list(_resources(arm_server, cred).resource_groups.list()) == []
    polls = [r for r in entra_server.requests if r.path.endswith("/token")]
    assert len(polls) >= 2  # at least one authorization_pending before the approval


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------------ assertion helpers
def test_assertion_helpers_and_snapshot_ignore_generated_values(arm_server: ArmServer) -> None:
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    from azure.mgmt.logic.models import ManagedServiceIdentity, Workflow

    def deploy(memory: float) -> None:
        _rg(arm_server)
        _aci(arm_server).container_groups.begin_create_or_update(RG, CG, _group(memory)).result()
        wf = _logic(arm_server).workflows.create_or_update(
            RG,
            "startaci",
            Workflow(
                location="eastus",
                definition=_definition(),
                identity=ManagedServiceIdentity(type="SystemAssigned"),
            ),
        )
        scope = f"/subscriptions/{arm_server.subscription_id}/resourceGroups/{RG}"
        _auth(arm_server).role_assignments.create(
            scope,
            str(uuid.uuid4()),
            RoleAssignmentCreateParameters(
                role_definition_id=f"{scope}/providers/Microsoft.Authorization/roleDefinitions/"
                f"{ROLE_ACI_CONTRIBUTOR}",
                principal_id=wf.identity.principal_id,
                principal_type="ServicePrincipal",
            ),
        )
        arm_server.wait_for_run(CG)

    deploy(2.5)
    assert arm_server.resource_group_exists(RG)
    group = arm_server.container_group(RG, CG)
    assert group is not None and group["properties"]["restartPolicy"] == "Never"
    assert len(arm_server.resources_in(RG)) == 3  # group, workflow, role assignment
    first = arm_server.snapshot()

    _resources(arm_server).resource_groups.begin_delete(RG).result()
    assert not arm_server.resource_group_exists(RG) and arm_server.resources_in(RG) == []
    assert arm_server.container_group(RG, CG) is None
    deploy(2.5)
    assert arm_server.snapshot() == first
    _resources(arm_server).resource_groups.begin_delete(RG).result()
    deploy(3)
    assert arm_server.snapshot() != first


def test_stop_and_delete_halt_the_container_that_is_running(arm_server: ArmServer) -> None:
    """Like ACI, a stop kills the running container: a hook running a real one is told to."""
    _rg(arm_server)
    arm_server.run_container = lambda job: (
        RunOutcome() if job.halted.wait(10) else RunOutcome(exit_code=9)
    )
    aci = _aci(arm_server)
    aci.container_groups.begin_create_or_update(RG, CG, _group()).result()
    first = arm_server.runs[-1]
    assert not first.halted.is_set()
    aci.container_groups.stop(RG, CG)
    assert first.halted.is_set()
    aci.container_groups.begin_start(RG, CG).result()
    second = arm_server.runs[-1]
    assert second is not first and not second.halted.is_set()
    aci.container_groups.begin_delete(RG, CG).result()
    assert second.halted.is_set()


def test_a_start_while_a_run_is_in_progress_changes_nothing(arm_server: ArmServer) -> None:
    """ACI answers a start of a running (or starting) group 204, "already running or
    starting": the run goes on, none is added. Only a start after the run ended runs again."""
    import threading

    _rg(arm_server)
    release = threading.Event()
    arm_server.run_container = lambda job: RunOutcome(exit_code=0 if release.wait(10) else 9)
    aci = _aci(arm_server)
    aci.container_groups.begin_create_or_update(RG, CG, _group()).result()
    first = arm_server.runs[-1]
    arm_server.clear_requests()
    aci.container_groups.begin_start(RG, CG).result()
    aci.container_groups.begin_start(RG, CG).result()
    starts = [r for r in arm_server.requests if r.path.endswith("/start")]
    assert [r.status for r in starts] == [204, 204]
    assert arm_server.runs == [first] and not first.halted.is_set()
    release.set()
    assert arm_server.wait_for_run(CG).exit_code == 0
    aci.container_groups.begin_start(RG, CG).result()  # ended: a start is a new run
    assert len(arm_server.runs) == 2 and arm_server.runs[-1] is not first


def test_the_workflow_language_pieces_the_runtime_reads() -> None:
    from tests.support.arm import evaluate_expression, iso_duration_seconds

    outputs = {"start_request": {"statusCode": 403}}
    expr = "@not(equals(outputs('start_request')?['statusCode'], 403))"
    assert evaluate_expression(expr, outputs) is False
    assert evaluate_expression(expr, {"start_request": {"statusCode": 200}}) is True
    assert evaluate_expression(expr, {}) is True  # no output yet: not a 403
    assert evaluate_expression("@or(equals(1, 2), and(true, true))", {}) is True
    with pytest.raises(ValueError):
        evaluate_expression("@length('abc')", {})
    assert iso_duration_seconds("PT40M") == 2400
    assert iso_duration_seconds("P1DT1H") == 90000
    assert iso_duration_seconds("PT7.5S") == 7.5
    assert iso_duration_seconds("40 minutes") is None and iso_duration_seconds("PT") is None


def test_provider_registration_states(arm_server: ArmServer) -> None:
    """NotRegistered -> (register) Registering for `registration_polls` GETs -> Registered;
    meanwhile the namespace's resources answer 409 MissingSubscriptionRegistration."""
    import requests

    arm_server.unregistered_providers = {"microsoft.logic"}
    arm_server.registration_polls = 1
    base = f"{arm_server.endpoint}/subscriptions/{arm_server.subscription_id}/providers"
    token = {"Authorization": "Bearer test"}

    def call(method: str, path: str) -> requests.Response:
        return requests.request(
            method, f"{base}{path}?api-version=2024-11-01", headers=token,
            verify=arm_server.ca_path, timeout=10,
        )  # fmt: skip

    assert call("GET", "/Microsoft.Logic").json()["registrationState"] == "NotRegistered"
    listing = requests.get(
        f"{arm_server.endpoint}/subscriptions/{arm_server.subscription_id}/resourceGroups/rg/"
        "providers/Microsoft.Logic/workflows/x?api-version=2019-05-01",
        headers=token, verify=arm_server.ca_path, timeout=10,
    )  # fmt: skip
    assert listing.status_code == 409
    assert listing.json()["error"]["message"].startswith(
        "The subscription is not registered to use namespace 'Microsoft.Logic'."
    )
    assert call("POST", "/Microsoft.Logic/register").json()["registrationState"] == "Registering"
    assert call("GET", "/Microsoft.Logic").json()["registrationState"] == "Registering"
    assert call("GET", "/Microsoft.Logic").json()["registrationState"] == "Registered"
    arm_server.unregistered_providers = {"microsoft.web"}
    arm_server.can_register_providers = False
    refused = call("POST", "/Microsoft.Web/register")
    assert refused.status_code == 403
    assert "'Microsoft.Web/register/action'" in refused.json()["error"]["message"]
