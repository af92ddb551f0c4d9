"""The Azure engine with the real SDK clients against the local ARM server.

Assertions are on what ARM received (bodies, order, overlap, api-versions) and on what
a user sees (webhook URL, plan, status, errors). No mocks of our own code.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from numerai_aci_wizard import workflow as lw
from numerai_aci_wizard.events import Event, StepFinished, StepStarted, WizardError
from numerai_aci_wizard.plan import FINGERPRINT_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE
from numerai_aci_wizard.services.azure_auth import sign_in
from numerai_aci_wizard.services.azure_provision import ROLE_NAME, Azure
from numerai_aci_wizard.settings import Secrets, Settings
from tests.support import ANSWER_ONLY_WORKFLOW

SECRETS = Secrets("A" * 32, "B" * 64, "hub-password-1")
MODEL_ID = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
GROUP_RE = r"/providers/Microsoft\.ContainerInstance/containerGroups/numerai-predict$"
CONN_RE = r"/providers/Microsoft\.Web/connections/aci$"
WF_RE = r"/providers/Microsoft\.Logic/workflows/startaci$"
RA_RE = r"/providers/Microsoft\.Authorization/roleAssignments/[0-9a-f-]{36}$"
RG_RE = r"/resourceGroups/numerai-rg$"


@dataclass
class Env:
    server: Any
    credential: Any
    events: list[Event] = field(default_factory=list)

    def settings(self, trigger: str = "api-connection", **changes: Any) -> Settings:
        s = Settings()
        s.numerai.model_id = MODEL_ID
        s.azure.subscription_id = self.server.subscription_id
        s.azure.location = "eastus"
        s.azure.memory_gb = 2.5
        s.azure.cpu = 1.0
        s.azure.trigger = trigger
        s.azure.arm_endpoint = self.server.endpoint
        s.docker.image = "myuser/numerai-predict:latest"
        s.docker.username = "myuser"
        for key, value in changes.items():
            s.set(key.replace("__", "."), value)
        return s

    def azure(self, settings: Settings, **kw: Any) -> Azure:
        return Azure(settings, self.credential, emit=self.events.append, polling_interval=0, **kw)


@pytest.fixture
def env(arm_server, az_cli_login) -> Env:  # noqa: ANN001
    return Env(arm_server, sign_in(allow_device_code=False).credential)


def calls(
    server: Any, method: str | None = None, path_re: str | None = None, polls: bool = False
) -> list:
    return [
        r
        for r in server.requests
        if (method is None or r.method == method)
        and (path_re is None or re.search(path_re, r.path, re.IGNORECASE))
        and (polls or not r.is_poll)
    ]


def writes(server: Any) -> list:
    return list(server.writes())


def deploy(env: Env, settings: Settings, secrets: Secrets = SECRETS) -> Any:
    return env.azure(settings).apply(secrets)


# --- first run ----------------------------------------------------------------------


def test_first_deploy_connector_mode_sends_what_arm_needs(env: Env) -> None:
    result = deploy(env, env.settings())
    server = env.server

    [rg_put] = calls(server, "PUT", RG_RE)
    assert rg_put.body["tags"] == {MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert rg_put.body["location"] == "eastus"

    [group_put] = calls(server, "PUT", GROUP_RE)
    assert group_put.api_version == "2023-05-01"
    props = group_put.body["properties"]
    assert props["restartPolicy"] == "Never"
    assert props["osType"] == "Linux"
    assert "ipAddress" not in props
    [container] = props["containers"]
    assert container["name"] == "numerai-predict"
    assert container["properties"]["image"] == "myuser/numerai-predict:latest"
    assert "ports" not in container["properties"]
    assert container["properties"]["resources"]["requests"] == {"memoryInGB": 2.5, "cpu": 1.0}
    env_vars = {e["name"]: e for e in container["properties"]["environmentVariables"]}
    assert set(env_vars) == {
        "NUMERAI_PUBLIC_ID",
        "NUMERAI_SECRET_KEY",
        "NUMERAI_MODEL_IDS",
        "NUMERAI_MODEL_ID",
    }
    assert env_vars["NUMERAI_MODEL_IDS"]["secureValue"] == MODEL_ID
    assert env_vars["NUMERAI_SECRET_KEY"] == {"name": "NUMERAI_SECRET_KEY", "secureValue": "B" * 64}
    assert all("value" not in e for e in env_vars.values())
    assert props["imageRegistryCredentials"] == [
        {"server": "index.docker.io", "username": "myuser", "password": "hub-password-1"}
    ]
    assert len(group_put.body["tags"][FINGERPRINT_TAG]) == 16

    [conn_put] = calls(server, "PUT", CONN_RE)
    assert conn_put.api_version == "2016-06-01"
    assert conn_put.body["properties"]["api"]["id"].endswith("/locations/eastus/managedApis/aci")

    [wf_put] = calls(server, "PUT", WF_RE)
    assert wf_put.api_version == "2019-05-01"
    definition = wf_put.body["properties"]["definition"]
    start = definition["actions"][lw.START_ACTION]
    assert start["type"] == "ApiConnection"
    assert (
        start["inputs"]["host"]["connection"]["name"]
        == "@parameters('$connections')['aci']['connectionId']"
    )
    trigger = definition["triggers"][lw.TRIGGER_NAME]
    assert trigger["type"] == "Request" and "required" not in trigger["inputs"]["schema"]
    assert definition["actions"][lw.RESPONSE_ACTION]["inputs"]["statusCode"] == 200
    binding = wf_put.body["properties"]["parameters"]["$connections"]["value"]["aci"]
    assert binding["connectionId"].lower() == conn_put.path.lower()

    # the group was stopped after its create (restart policy Never started it)
    assert calls(server, "POST", GROUP_RE[:-1] + "/stop$")
    assert not calls(server, "PUT", RA_RE)  # no role assignment in connector mode
    assert "sig=" in result.webhook_url
    assert result.connection is not None and not result.connection.connected
    assert result.connection.portal_link.startswith("https://portal.azure.com/#@")
    assert result.connection.portal_link.endswith("/providers/Microsoft.Web/connections/aci")
    assert any("Edit API connection" in step for step in result.connection.steps)
    assert any("Authorize" in s for s in result.connection.steps)


def test_first_deploy_orders_rg_first_and_overlaps_group_with_connection(env: Env) -> None:
    from numerai_aci_wizard.events import Progress

    env.server.lro_seconds = 0.6
    deploy(env, env.settings())
    server = env.server
    [rg_put] = calls(server, "PUT", RG_RE)
    [group_put] = calls(server, "PUT", GROUP_RE)
    [conn_put] = calls(server, "PUT", CONN_RE)
    [wf_put] = calls(server, "PUT", WF_RE)
    assert rg_put.finished <= group_put.started
    assert rg_put.finished <= conn_put.started
    group_polls = [r for r in server.requests if r.is_poll]
    assert group_polls, "the group's create is a long-running operation"
    group_done = max(r.finished for r in group_polls)
    # the connection and the workflow were written while the group's LRO was running
    assert conn_put.started < group_done
    assert wf_put.started < group_done
    assert conn_put.finished <= wf_put.started
    # and the group was stopped only once its create had finished
    [stop] = calls(server, "POST", GROUP_RE[:-1] + "/stop$")
    assert stop.started >= group_done
    assert any(isinstance(e, Progress) and e.step == "container_group" for e in env.events)


def test_first_deploy_managed_identity_mode(env: Env) -> None:
    env.server.principal_not_found_times = 2
    result = deploy(env, env.settings("managed-identity"))
    server = env.server
    [wf_put] = calls(server, "PUT", WF_RE)
    assert wf_put.body["identity"] == {"type": "SystemAssigned"}
    start = lw.start_call(wf_put.body["properties"]["definition"])
    assert start["type"] == "Http"
    assert start["inputs"]["authentication"]["type"] == "ManagedServiceIdentity"
    assert start["inputs"]["uri"].startswith("https://management.azure.com/subscriptions/")
    assert not calls(server, "PUT", CONN_RE)
    role_puts = calls(server, "PUT", RA_RE)
    assert {r.api_version for r in role_puts} == {"2022-04-01"}
    assert len(role_puts) == 3  # two PrincipalNotFound while the identity replicates
    props = role_puts[-1].body["properties"]
    assert props["principalType"] == "ServicePrincipal"
    assert props["roleDefinitionId"].endswith(
        "/roleDefinitions/5d977122-f97e-4b4d-a52f-6b43003ddb4d"
    )
    assert (
        role_puts[-1]
        .path.lower()
        .startswith(f"/subscriptions/{server.subscription_id}/resourcegroups/numerai-rg/")
    )
    assert result.connection is None and "sig=" in result.webhook_url


def test_events_name_each_resource_step(env: Env) -> None:
    deploy(env, env.settings())
    started = {e.step for e in env.events if isinstance(e, StepStarted)}
    finished = {e.step for e in env.events if isinstance(e, StepFinished)}
    assert {"resource_group", "container_group", "api_connection", "workflow"} <= started
    assert started == finished


# --- re-runs ------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_unchanged_rerun_makes_zero_writes_and_returns_the_same_url(env: Env, trigger: str) -> None:
    first = deploy(env, env.settings(trigger))
    before = len(writes(env.server))
    azure = env.azure(env.settings(trigger))
    assert azure.plan(secrets=SECRETS).changes == []
    second = azure.apply(SECRETS)
    assert writes(env.server)[before:] == []
    assert second.webhook_url == first.webhook_url
    assert {a.action for a in second.actions} == {"keep"}


def test_resize_is_exactly_one_delete_and_one_create_of_the_group(env: Env) -> None:
    first = deploy(env, env.settings())
    before = len(writes(env.server))
    settings = env.settings(azure__memory_gb=4.0, azure__cpu=2.0)
    plan = env.azure(settings).plan(secrets=SECRETS)
    assert [(a.resource, a.action) for a in plan.changes] == [("container_group", "recreate")]
    assert "ARM cannot change it in place" in plan.changes[0].reason
    env.server.lro_seconds = 0.6
    env.events.clear()
    result = env.azure(settings).apply(SECRETS, plan)
    env.server.lro_seconds = 0
    ticks = [
        e.done for e in env.events if type(e).__name__ == "Progress" and e.step == "container_group"
    ]
    assert ticks == sorted(ticks) and ticks[-1] >= 1  # one rising count: delete, then create
    new = [
        (r.method, r.path)
        for r in writes(env.server)[before:]
        if r.method in ("PUT", "DELETE", "PATCH")
    ]
    assert [m for m, p in new if re.search(GROUP_RE, p)] == ["DELETE", "PUT"]
    assert all(re.search(GROUP_RE, p) for _, p in new), new
    assert result.webhook_url == first.webhook_url
    body = calls(env.server, "PUT", GROUP_RE)[-1].body
    assert body["properties"]["containers"][0]["properties"]["resources"]["requests"] == {
        "memoryInGB": 4.0,
        "cpu": 2.0,
    }
    assert env.azure(settings).status().memory_gb == 4.0


def test_a_cancel_during_a_resize_waits_until_the_group_exists_again(env: Env) -> None:
    """Issue 21: a cancel between the delete and the create left rounds nothing to start."""
    from numerai_aci_wizard.events import Cancelled, LogLine, Removed, StepFinished

    deploy(env, env.settings())
    settings = env.settings(azure__memory_gb=4.0, azure__cpu=2.0)
    plan = env.azure(settings).plan(secrets=SECRETS)
    cancel = threading.Event()
    seen: list[Event] = []

    def emit(event: Event) -> None:
        seen.append(event)
        if isinstance(event, LogLine) and event.text.startswith("deleting numerai-predict"):
            cancel.set()  # the user presses Cancel as the delete starts

    env.server.lro_seconds = 0.6
    azure = Azure(settings, env.credential, emit=emit, polling_interval=0.05, cancel=cancel)
    with pytest.raises(Cancelled):
        azure.apply(SECRETS, plan)
    env.server.lro_seconds = 0
    assert env.azure(settings).status().memory_gb == 4.0  # created again, at the new size
    gone = [i for i, e in enumerate(seen) if isinstance(e, Removed)]
    back = [
        i for i, e in enumerate(seen) if isinstance(e, StepFinished) and e.step == "container_group"
    ]
    assert len(gone) == 1 and back and gone[0] < back[0]  # said gone, then said back


def test_new_image_updates_the_group_in_place_only(env: Env) -> None:
    deploy(env, env.settings())
    before = len(writes(env.server))
    settings = env.settings(docker__image="myuser/numerai-predict:v2")
    deploy(env, settings)
    new = [
        (r.method, r.path)
        for r in writes(env.server)[before:]
        if r.method in ("PUT", "DELETE", "PATCH")
    ]
    assert [m for m, _ in new] == ["PUT"] and re.search(GROUP_RE, new[0][1])
    assert env.azure(settings).status().image == "myuser/numerai-predict:v2"


def test_a_stale_plan_does_not_leave_a_hole(env: Env) -> None:
    deploy(env, env.settings())
    azure = env.azure(env.settings())
    plan = azure.plan(secrets=SECRETS)  # all keep
    env.azure(env.settings()).destroy()  # someone removed everything meanwhile
    result = azure.apply(SECRETS, plan)
    assert "sig=" in result.webhook_url
    assert env.azure(env.settings()).plan(secrets=SECRETS).changes == []


def test_changed_keys_update_the_group_and_nothing_else(env: Env) -> None:
    deploy(env, env.settings())
    before = len(writes(env.server))
    other = Secrets("C" * 32, "B" * 64, "hub-password-1")
    plan = env.azure(env.settings()).plan(secrets=other)
    assert [(a.resource, a.action) for a in plan.changes] == [("container_group", "update")]
    deploy(env, env.settings(), other)
    new = [r for r in writes(env.server)[before:] if r.method in ("PUT", "DELETE")]
    assert len(new) == 1 and re.search(GROUP_RE, new[0].path)
    env_vars = new[0].body["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert {"name": "NUMERAI_PUBLIC_ID", "secureValue": "C" * 32} in env_vars


def test_a_new_model_list_updates_the_group_with_every_id_and_nothing_else(env: Env) -> None:
    deploy(env, env.settings())
    before = len(writes(env.server))
    second = "7c1e5a2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d"
    two = env.settings(numerai__model_ids=[MODEL_ID, second])
    plan = env.azure(two).plan(secrets=SECRETS)
    assert [(a.resource, a.action) for a in plan.changes] == [("container_group", "update")]
    deploy(env, two)
    new = [r for r in writes(env.server)[before:] if r.method in ("PUT", "DELETE")]
    assert len(new) == 1 and re.search(GROUP_RE, new[0].path)
    env_vars = new[0].body["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert {"name": "NUMERAI_MODEL_IDS", "secureValue": f"{MODEL_ID},{second}"} in env_vars
    assert {"name": "NUMERAI_MODEL_ID", "secureValue": MODEL_ID} in env_vars
    assert env.azure(two).plan(secrets=SECRETS).changes == []


def test_registry_server_follows_a_private_registry(env: Env) -> None:
    settings = env.settings(
        docker__image="registry.example.com:5000/team/model:1", docker__username="bot"
    )
    deploy(env, settings)
    body = calls(env.server, "PUT", GROUP_RE)[-1].body
    assert (
        body["properties"]["imageRegistryCredentials"][0]["server"] == "registry.example.com:5000"
    )


def test_public_image_without_username_sends_no_registry_credentials(env: Env) -> None:
    deploy(env, env.settings(docker__username=""))
    body = calls(env.server, "PUT", GROUP_RE)[-1].body
    assert not body["properties"].get("imageRegistryCredentials")


def test_api_url_is_passed_on_as_a_plain_variable_when_set(env: Env, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("NUMERAI_API_URL", "http://127.0.0.1:9/graphql")
    deploy(env, env.settings())
    variables = calls(env.server, "PUT", GROUP_RE)[-1].body["properties"]["containers"][0][
        "properties"
    ]["environmentVariables"]
    assert {"name": "NUMERAI_API_URL", "value": "http://127.0.0.1:9/graphql"} in variables


def test_secure_values_are_not_observed_back(env: Env) -> None:
    deploy(env, env.settings())
    observed = env.azure(env.settings()).observe()
    assert observed.container_group is not None
    assert set(observed.container_group.env.values()) == {None}


def test_partial_work_is_continued_by_the_next_run(env: Env) -> None:
    env.server.fail("PUT", WF_RE, 500, "InternalServerError", "boom", times=5)
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert "500" in info.value.message and "run again" in info.value.hint
    assert len(calls(env.server, "PUT", WF_RE)) == 5  # bounded retries, then a clear error
    assert env.azure(env.settings()).observe().container_group is not None
    before = len(writes(env.server))
    result = deploy(env, env.settings())
    new = [r for r in writes(env.server)[before:] if r.method == "PUT"]
    assert [bool(re.search(WF_RE, r.path)) for r in new] == [True]
    assert "sig=" in result.webhook_url


def test_switching_trigger_mode_rewrites_the_logic_app_and_cleans_up_the_other_mode(
    env: Env,
) -> None:
    first = deploy(env, env.settings("api-connection"))
    before = len(writes(env.server))
    plan = env.azure(env.settings("managed-identity")).plan(secrets=SECRETS)
    assert {(a.resource, a.action) for a in plan.changes} == {
        ("api_connection", "delete"),
        ("workflow", "update"),
        ("role_assignment", "create"),
    }
    result = deploy(env, env.settings("managed-identity"))
    new = [(r.method, r.path) for r in writes(env.server)[before:] if r.method != "POST"]
    assert not any(re.search(GROUP_RE, p) for _, p in new)  # the group is untouched
    assert ("DELETE" in {m for m, p in new if re.search(CONN_RE, p)}) and calls(
        env.server, "PUT", RA_RE
    )
    assert result.webhook_url == first.webhook_url
    # and back: the role assignment goes, the connection comes back
    deploy(env, env.settings("api-connection"))
    assert calls(env.server, "PUT", WF_RE)[-1].body["identity"] == {"type": "None"}
    observed = env.azure(env.settings("api-connection")).observe()
    assert observed.connection is not None and observed.workflow.identity_type is None
    assert not [k for k in env.server.resources if "roleassignments" in k]
    assert env.azure(env.settings("api-connection")).plan(secrets=SECRETS).changes == []


def test_the_unused_connection_goes_only_after_the_workflow_stopped_using_it(env: Env) -> None:
    deploy(env, env.settings("api-connection"))
    env.server.clear_requests()
    env.server.fail("PUT", WF_RE, 400, "InvalidTemplate", "refused for the test", times=1)
    with pytest.raises(WizardError):
        deploy(env, env.settings("managed-identity"))
    assert calls(env.server, "DELETE", CONN_RE) == []  # the old workflow still works
    assert env.azure(env.settings("api-connection")).observe().connection is not None
    env.server.clear_requests()
    deploy(env, env.settings("managed-identity"))
    order = [(r.method, r.path) for r in writes(env.server)]
    wf_put = next(i for i, (m, p) in enumerate(order) if m == "PUT" and re.search(WF_RE, p))
    conn_delete = next(
        i for i, (m, p) in enumerate(order) if m == "DELETE" and re.search(CONN_RE, p)
    )
    assert wf_put < conn_delete


def test_destroy_waits_out_a_lagging_list_before_keeping_the_group(env: Env) -> None:
    deploy(env, env.settings())
    env.server.list_lag_seconds = 1.2  # ARM still lists what was just deleted
    actions = env.azure(env.settings()).destroy()
    rg = next(a for a in actions if a.resource == "resource_group")
    assert rg.action == "delete", rg.reason
    assert len(calls(env.server, "GET", r"/resourceGroups/numerai-rg/resources$")) >= 2


def test_destroy_keeps_a_group_holding_something_else_without_waiting(env: Env) -> None:
    deploy(env, env.settings())
    env.server.list_lag_seconds = 30
    connection = dict(lw.connection_body(env.server.subscription_id, "eastus"))
    env.azure(env.settings())._client("resources").resources.begin_create_or_update_by_id(
        lw.connection_id(env.server.subscription_id, "numerai-rg").replace("/aci", "/other"),
        connection,
        api_version="2016-06-01",
    ).result()
    actions = env.azure(env.settings()).destroy()
    rg = next(a for a in actions if a.resource == "resource_group")
    assert rg.action == "keep" and "other" in rg.reason
    assert len(calls(env.server, "GET", r"/resourceGroups/numerai-rg/resources$")) == 1


# --- a terminated / failed group ----------------------------------------------------


def test_a_run_that_ended_shows_in_status_and_logs_and_can_be_updated(env: Env) -> None:
    from tests.support.arm import RunOutcome

    env.server.run_container = lambda run: RunOutcome(
        0, "loaded model\nuploaded 5000 predictions\n"
    )
    settings = env.settings(run__stop_after_create=False)
    deploy(env, settings)
    env.server.wait_for_run("numerai-predict")
    azure = env.azure(settings)
    status = azure.status()
    assert status.exists and not status.running
    assert status.exit_code == 0 and status.finished is not None
    assert "uploaded 5000 predictions" in azure.logs()
    assert azure.logs(tail=1) == "uploaded 5000 predictions\n"

    before = len(writes(env.server))
    newer = env.settings(run__stop_after_create=False, docker__image="myuser/numerai-predict:v3")
    deploy(env, newer)
    new = [r for r in writes(env.server)[before:] if r.method in ("PUT", "DELETE")]
    assert [r.method for r in new] == ["PUT"]
    assert env.server.runs[-1].image == "myuser/numerai-predict:v3"


def test_an_update_arm_refuses_falls_back_to_delete_and_create(env: Env) -> None:
    deploy(env, env.settings())
    env.server.fail(
        "PUT",
        GROUP_RE,
        409,
        "InvalidContainerGroupUpdate",
        "The container group is terminated.",
        times=1,
    )
    before = len(writes(env.server))
    deploy(env, env.settings(docker__image="myuser/numerai-predict:v2"))
    new = [r.method for r in writes(env.server)[before:] if r.method in ("PUT", "DELETE")]
    assert new == ["PUT", "DELETE", "PUT"]
    assert env.azure(env.settings()).status().image == "myuser/numerai-predict:v2"


def test_failed_deployment_is_reported_with_its_code_and_recreated_next_time(env: Env) -> None:
    env.server.fail_lro(
        GROUP_RE, "ContainerGroupDeploymentFailed", "The container failed to deploy."
    )
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert "ContainerGroupDeploymentFailed" in str(info.value)
    assert any(e.step == "container_group" and type(e).__name__ == "StepFailed" for e in env.events)
    plan = env.azure(env.settings()).plan(secrets=SECRETS)
    assert plan.for_resource("container_group").action == "recreate"
    before = len(writes(env.server))
    deploy(env, env.settings())
    assert [r.method for r in writes(env.server)[before:] if r.method in ("PUT", "DELETE")] == [
        "DELETE",
        "PUT",
    ]


# --- status, logs, start ------------------------------------------------------------


def test_start_runs_the_job_and_follow_logs_streams_until_it_ends(env: Env) -> None:
    import time as _time

    from tests.support.arm import RunOutcome

    go_on = threading.Event()

    def live(run: Any) -> RunOutcome:
        env.server.append_log(run, "step 1\n")
        go_on.wait(10)  # until the follower has shown step 1
        env.server.append_log(run, "boom\n")
        _time.sleep(0.1)
        return RunOutcome(3, "step 1\nboom\n")

    deploy(env, env.settings())
    assert env.azure(env.settings()).status().state == "Stopped"
    env.server.run_container = live
    azure = env.azure(env.settings())
    a = env.settings().azure  # a round opening starts the group (as the Logic App does)
    azure._client("aci").container_groups.begin_start(a.resource_group, a.container_group).result()
    chunks: list[str] = []

    def on_text(text: str) -> None:
        chunks.append(text)
        go_on.set()

    final = azure.follow_logs(on_text, poll=0.05)
    assert chunks[0] == "step 1\n"  # shown while the container was still running
    assert "".join(chunks) == "step 1\nboom\n"
    assert final.exit_code == 3 and not final.running and final.state == "Failed"
    assert calls(env.server, "POST", GROUP_RE[:-1] + "/start$")


def test_follow_shows_only_new_text_when_old_lines_scrolled_off() -> None:
    from numerai_aci_wizard.services.azure_runtime import _new_text

    assert _new_text("", "a\nb\n") == "a\nb\n"
    assert _new_text("a\nb\n", "a\nb\nc\n") == "c\n"
    assert _new_text("a\nb\nc\n", "b\nc\nd\n") == "d\n"  # ACI kept only the tail
    assert _new_text("a\nb\n", "a\nb\n") == ""


def test_status_of_a_missing_group_and_logs_say_deploy_first(env: Env) -> None:
    azure = env.azure(env.settings())
    assert azure.status().exists is False
    assert azure.webhook_url() is None
    with pytest.raises(WizardError) as info:
        azure.logs()
    assert info.value.hint == "run deploy first"


# --- discovery ----------------------------------------------------------------------


def test_discovery_lists_subscriptions_regions_with_aci_and_limits(env: Env) -> None:
    azure = env.azure(env.settings())
    [sub] = azure.list_subscriptions()
    assert (sub.id, sub.state) == (env.server.subscription_id, "Enabled")
    names = {loc.name for loc in azure.list_locations()}
    assert "eastus" in names and "brazilsouth" not in names
    env.server.capabilities["westeurope"] = (2.0, 8.0)
    assert azure.region_limits("westeurope") == (8.0, 2.0)
    with pytest.raises(WizardError) as info:
        azure.region_limits("brazilsouth")
    assert info.value.exit_code == 2


def test_connection_status_turns_connected_after_the_portal_sign_in(env: Env) -> None:
    deploy(env, env.settings())
    azure = env.azure(env.settings())
    before = azure.connection_status()
    assert not before.connected and before.steps
    assert env.server.tenant_id in before.portal_link
    env.server.authorize_connection("aci")
    after = azure.connection_status()
    assert after.connected and after.status == "Connected" and after.steps == []


# --- destroy ------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_destroy_removes_everything_including_our_empty_resource_group(
    env: Env, trigger: str
) -> None:
    deploy(env, env.settings(trigger))
    actions = env.azure(env.settings(trigger)).destroy()
    deleted = {a.resource for a in actions if a.action == "delete"}
    expected = {"container_group", "workflow", "resource_group"}
    expected.add("api_connection" if trigger == "api-connection" else "role_assignment")
    assert deleted == expected
    assert env.server.resources == {}
    assert calls(env.server, "DELETE", RG_RE)


def test_destroy_keeps_a_resource_group_the_tool_did_not_create(env: Env) -> None:
    from azure.mgmt.resource.resources import ResourceManagementClient

    client = ResourceManagementClient(
        env.credential, env.server.subscription_id, base_url=env.server.endpoint
    )
    client.resource_groups.create_or_update("numerai-rg", {"location": "eastus"})
    deploy(env, env.settings())
    actions = env.azure(env.settings()).destroy()
    rg = next(a for a in actions if a.resource == "resource_group")
    assert (rg.action, rg.reason) == ("keep", "not created by this tool")
    assert not calls(env.server, "DELETE", RG_RE)
    assert env.azure(env.settings()).observe().container_group is None


# --- faults -------------------------------------------------------------------------


def test_throttling_honours_retry_after(env: Env) -> None:
    env.server.fail(
        "PUT", GROUP_RE, 429, "TooManyRequests", "slow down", times=1, headers={"Retry-After": "1"}
    )
    deploy(env, env.settings())
    first, second = calls(env.server, "PUT", GROUP_RE)
    assert (first.status, second.status) in ((429, 201), (429, 200))
    assert second.started - first.finished >= 0.9


def test_a_transient_500_is_retried_and_the_deploy_succeeds(env: Env) -> None:
    env.server.fail("PUT", WF_RE, 500, times=1)
    result = deploy(env, env.settings())
    assert [r.status for r in calls(env.server, "PUT", WF_RE)] == [500, 200] or [
        r.status for r in calls(env.server, "PUT", WF_RE)
    ] == [500, 201]
    assert "sig=" in result.webhook_url


def test_unreachable_endpoint_names_it(env: Env) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = env.settings(azure__arm_endpoint=f"https://127.0.0.1:{port}")
    with pytest.raises(WizardError) as info:
        env.azure(settings).plan()
    assert f"cannot reach https://127.0.0.1:{port}" in info.value.message


def test_role_assignment_refused_suggests_connector_mode(env: Env) -> None:
    env.server.can_assign_roles = False
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings("managed-identity"))
    assert "Microsoft.Authorization/roleAssignments/write" in info.value.message
    assert "Owner" in info.value.hint and "--trigger api-connection" in info.value.hint
    # the rest is in place: switching to connector mode needs no new group
    plan = env.azure(env.settings("api-connection")).plan(secrets=SECRETS)
    assert plan.for_resource("container_group").action == "keep"


def test_forbidden_write_names_the_role_needed(env: Env) -> None:
    msg = (
        "The client 'tester@example.com' does not have authorization to perform action "
        "'Microsoft.Resources/subscriptions/resourcegroups/write' over scope '/subscriptions/x'."
    )
    env.server.fail("PUT", RG_RE, 403, "AuthorizationFailed", msg, times=1)
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert "Contributor" in info.value.hint
    assert info.value.upstream == "AuthorizationFailed"


def test_expired_token_says_sign_in_again(env: Env) -> None:
    env.server.fail(
        "*", r".*", 401, "ExpiredAuthenticationToken", "The access token expiry...", times=1
    )
    with pytest.raises(WizardError) as info:
        env.azure(env.settings()).observe()
    assert info.value.exit_code == 2 and "az login" in info.value.hint


def test_inaccessible_image_points_at_registry_credentials(env: Env) -> None:
    env.server.inaccessible_images.add("myuser/numerai-predict:latest")
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert info.value.upstream == "InaccessibleImage"
    assert "registry username and password" in info.value.hint


def test_registry_trouble_during_the_pull_is_not_called_a_credentials_problem(env: Env) -> None:
    # ACI's deployment fails this way when Docker Hub throttles or a registry answers 5xx
    env.server.fail_lro(
        GROUP_RE,
        "RegistryErrorResponse",
        "An error response is received from the docker registry 'index.docker.io'. Please "
        "retry later.",
    )
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert info.value.upstream == "RegistryErrorResponse"
    assert "not your credentials" in info.value.hint and "wait" in info.value.hint
    assert "username and password" not in info.value.hint


def test_region_without_aci_and_too_big_a_size(env: Env) -> None:
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings(azure__location="brazilsouth"))
    assert "another region" in info.value.hint
    env.server.max_memory_gb = 8
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings(azure__memory_gb=12.0))
    assert "less memory" in info.value.hint


def test_cancel_during_the_group_deploy_then_the_next_run_finishes(env: Env) -> None:
    from numerai_aci_wizard.events import Cancelled

    env.server.lro_seconds = 30
    cancel = threading.Event()
    azure = Azure(
        env.settings(), env.credential, emit=env.events.append, polling_interval=0.05, cancel=cancel
    )
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    with pytest.raises(Cancelled):
        azure.apply(SECRETS)
    env.server.lro_seconds = 0
    result = deploy(env, env.settings())
    assert "sig=" in result.webhook_url


def test_an_existing_equal_role_assignment_counts_as_done(env: Env) -> None:
    import uuid

    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters

    deploy(env, env.settings("managed-identity"))
    observed = env.azure(env.settings("managed-identity")).observe()
    client = AuthorizationManagementClient(
        env.credential, env.server.subscription_id, base_url=env.server.endpoint
    )
    client.role_assignments.delete_by_id(observed.role_assignment.id)
    scope = f"/subscriptions/{env.server.subscription_id}/resourceGroups/numerai-rg"
    by_hand = str(uuid.uuid4())
    client.role_assignments.create(  # the same grant, made by hand under another name
        scope,
        by_hand,
        RoleAssignmentCreateParameters(
            role_definition_id=observed.role_assignment.role_definition_id,
            principal_id=observed.workflow.principal_id,
            principal_type="ServicePrincipal",
        ),
    )
    plan = env.azure(env.settings("managed-identity")).plan()
    assert plan.for_resource("role_assignment").action == "keep"
    env.server.clear_requests()
    result = deploy(env, env.settings("managed-identity"))
    assert calls(env.server, "PUT", RA_RE) == []  # seen as present: nothing written
    assert "sig=" in result.webhook_url
    env.azure(env.settings("managed-identity")).destroy()
    # destroy removed the hand-made grant that served this Logic App
    assert [r.status for r in calls(env.server, "DELETE", by_hand + "$")] == [200]


def test_a_name_conflict_is_explained(env: Env) -> None:
    env.server.fail("PUT", CONN_RE, 409, "Conflict", "Another operation is in progress.", times=1)
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert info.value.message.startswith("name conflict or operation in progress")
    assert "choose another name" in info.value.hint


def test_an_error_that_echoes_a_secret_is_masked(env: Env) -> None:
    from numerai_aci_wizard import redact

    redact.register(SECRETS.numerai_secret_key)
    env.server.fail(
        "PUT", GROUP_RE, 400, "InvalidRequestContent", f"bad value '{'B' * 64}'", times=1
    )
    with pytest.raises(WizardError) as info:
        deploy(env, env.settings())
    assert "B" * 64 not in str(info.value) and "***" in info.value.message


# --- only what is ours ----------------------------------------------------------------


def _foreign_logic_app(env: Env) -> None:
    """Someone's own Logic App named like ours, in a resource group of theirs."""
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.resource.resources import ResourceManagementClient

    sub, endpoint = env.server.subscription_id, env.server.endpoint
    ResourceManagementClient(
        env.credential, sub, base_url=endpoint
    ).resource_groups.create_or_update("numerai-rg", {"location": "eastus"})
    LogicManagementClient(env.credential, sub, base_url=endpoint).workflows.create_or_update(
        "numerai-rg",
        "startaci",
        {
            "location": "eastus",
            "tags": {"team": "research"},
            # their own flow: an HTTP trigger that only answers (no container is started)
            "properties": {"definition": ANSWER_ONLY_WORKFLOW},
        },
    )


def _theirs(env: Env) -> dict:
    return next(r for k, r in env.server.resources.items() if k.endswith("/workflows/startaci"))


def test_every_resource_the_tool_creates_carries_the_managed_by_tag(env: Env) -> None:
    deploy(env, env.settings())
    for path_re in (GROUP_RE, CONN_RE, WF_RE, RG_RE):
        [put] = calls(env.server, "PUT", path_re)
        assert put.body["tags"][MANAGED_BY_TAG] == MANAGED_BY_VALUE, path_re


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_a_foreign_logic_app_is_untouched_by_deploy_and_destroy(env: Env, trigger: str) -> None:
    from numerai_aci_wizard.events import ErrorCode

    _foreign_logic_app(env)
    before = dict(_theirs(env))
    env.server.clear_requests()
    settings = env.settings(trigger)
    plan = env.azure(settings).plan()
    wf = plan.for_resource("workflow")
    assert (wf.action, wf.reason) == (
        "keep",
        "exists, not created by this tool (deploy --adopt takes it over)",
    )
    with pytest.raises(WizardError) as info:
        deploy(env, settings)
    assert info.value.code == ErrorCode.NOT_OURS and info.value.exit_code == 2
    assert "workflow startaci" in info.value.message and "not created by this tool" in (
        info.value.message
    )
    assert "--adopt" in info.value.hint
    with pytest.raises(WizardError) as info:
        env.azure(settings).destroy()
    assert info.value.code == ErrorCode.NOT_OURS and "nothing was deleted" in info.value.hint
    assert writes(env.server) == []  # not one PUT, PATCH, POST or DELETE
    assert _theirs(env) == before


def test_adopt_takes_a_foreign_logic_app_over_and_tags_it(env: Env) -> None:
    _foreign_logic_app(env)
    env.server.clear_requests()
    settings = env.settings()
    result = env.azure(settings).apply(SECRETS, adopt=True)
    assert "sig=" in result.webhook_url
    [wf_put] = calls(env.server, "PUT", WF_RE)
    assert wf_put.body["tags"] == {"team": "research", MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert lw.START_ACTION in _theirs(env)["properties"]["definition"]["actions"]  # ours now
    # from now on it is ours: a plain deploy and destroy work on it
    assert env.azure(settings).plan().for_resource("workflow").action == "keep"
    actions = env.azure(settings).destroy()
    assert ("workflow", "delete") in {(a.resource, a.action) for a in actions}


def test_adopt_tags_a_foreign_connection_without_touching_its_authorization(env: Env) -> None:
    deploy(env, env.settings())
    conn = next(r for k, r in env.server.resources.items() if k.endswith("/connections/aci"))
    conn["tags"] = {}  # as if someone else had made it
    conn["properties"]["statuses"] = [{"status": "Connected"}]
    env.server.clear_requests()
    plan = env.azure(env.settings()).plan(secrets=SECRETS, adopt=True)
    assert plan.for_resource("api_connection").action == "update"
    env.azure(env.settings()).apply(SECRETS, adopt=True)
    [patch] = calls(env.server, "PATCH", CONN_RE)  # Connections_Update: tags only
    assert patch.body["tags"] == {MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert not calls(env.server, "PUT", CONN_RE)
    assert conn["tags"] == {MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert conn["properties"]["statuses"] == [{"status": "Connected"}]


# --- the stop after create ------------------------------------------------------------


def test_a_failed_stop_after_create_is_stopped_by_the_next_run(env: Env) -> None:
    from numerai_aci_wizard.plan import STOP_LEFTOVER, Plan, leftover_run
    from tests.support.arm import RunOutcome

    def long_run(run: Any) -> RunOutcome:
        run.halted.wait(120)  # a prediction takes a while; a stop ends it
        return RunOutcome(0, "stopped\n")

    env.server.run_container = long_run
    stop_re = GROUP_RE[:-1] + "/stop$"
    # the first try and the SDK's 4 retries of a 429: all refused
    env.server.fail("POST", stop_re, 429, "TooManyRequests", times=5, headers={"Retry-After": "0"})
    settings = env.settings()
    result = deploy(env, settings)
    assert result.stop_failed
    assert len(calls(env.server, "POST", stop_re)) == 5
    warning = [e for e in env.events if "could not stop" in getattr(e, "text", "")]
    assert warning and "the next deploy stops it" in warning[0].text
    azure = env.azure(settings)
    observed = azure.observe()
    assert observed.container_group.state == "Running"
    planned = azure.plan(observed, SECRETS)
    action = leftover_run(planned.for_resource("container_group"), observed.container_group, True)
    assert (action.action, action.reason) == ("update", STOP_LEFTOVER)
    env.server.clear_requests()
    again = azure.apply(
        SECRETS,
        Plan([action if a.resource == "container_group" else a for a in planned.actions]),
    )
    assert not again.stop_failed
    assert [r.method for r in calls(env.server, None, stop_re)] == ["POST"]
    assert not calls(env.server, "PUT", GROUP_RE)  # stopped, not rewritten
    assert env.azure(settings).status().state != "Running"


def _finished(env: Env) -> list[tuple[str, str, str | None]]:
    """Each step's end as the front ends read it: its summary and the change it carried out."""
    said = [
        (e.step, e.summary, e.change.action if e.change is not None else None)
        for e in env.events
        if isinstance(e, StepFinished)
    ]
    env.events.clear()
    return sorted(said)  # the group and the connection overlap: their order varies


def test_each_step_ends_with_what_it_did_and_the_change_it_carried_out(env: Env) -> None:
    """The summaries and typed changes the Deploy step and the CLI show, through a first
    deploy, an unchanged re-run, a switch of trigger mode and destroy."""
    deploy(env, env.settings())
    assert _finished(env) == [
        ("api_connection", "created aci (authorize it once in the portal)", "create"),
        ("container_group", "created numerai-predict (1 vCPU, 2.5 GB)", "create"),
        ("resource_group", "created numerai-rg in eastus", "create"),
        ("workflow", "created startaci (api-connection)", "create"),
    ]
    deploy(env, env.settings())
    assert _finished(env) == [
        (
            "api_connection",
            "exists, not authorized yet (status Error): deploy shows the one manual step",
            None,
        ),
        ("container_group", "unchanged", None),
        ("resource_group", "numerai-rg exists", None),
        ("workflow", "unchanged", None),
    ]
    deploy(env, env.settings("managed-identity"))
    assert _finished(env) == [
        ("api_connection", "deleted (managed-identity mode)", "delete"),
        ("container_group", "unchanged", None),
        ("resource_group", "numerai-rg exists", None),
        ("role_assignment", f"granted {ROLE_NAME} on numerai-rg", "create"),
        ("workflow", "updated startaci (managed-identity)", "update"),
    ]
    env.azure(env.settings("managed-identity")).destroy()
    assert _finished(env) == [
        ("container_group", "deleted numerai-predict", "delete"),
        ("resource_group", "deleted numerai-rg", "delete"),
        ("role_assignment", "deleted", "delete"),
        ("workflow", "deleted startaci", "delete"),
    ]
