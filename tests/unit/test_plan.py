"""Plans from plain data: what a user sees before anything is written."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from numerai_aci_wizard import workflow as lw
from numerai_aci_wizard.plan import (
    FINGERPRINT_TAG,
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    SECURE_ENV,
    Observed,
    ObservedConnection,
    ObservedContainerGroup,
    ObservedResourceGroup,
    ObservedRoleAssignment,
    ObservedWorkflow,
    compute_plan,
    desired_group,
    fingerprint,
    secrets_fingerprint,
    webhook_actions,
)
from numerai_aci_wizard.settings import Secrets, Settings

SUB = "00000000-0000-0000-0000-000000000001"
SECRETS = Secrets("A" * 32, "B" * 64, "pw")


def make_settings(trigger: str = "api-connection") -> Settings:
    s = Settings()
    s.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    s.azure.subscription_id = SUB
    s.azure.location = "eastus"
    s.azure.memory_gb = 2.5
    s.azure.cpu = 1.0
    s.azure.trigger = trigger
    s.docker.image = "myuser/numerai-predict:latest"
    s.docker.username = "myuser"
    return s


OURS = {MANAGED_BY_TAG: MANAGED_BY_VALUE}


def existing(settings: Settings, **group_changes: object) -> Observed:
    """Everything as ``settings`` asks, as observe() would report it."""
    a = settings.azure
    fp = secrets_fingerprint(SECRETS, settings.numerai.model_ids)
    group = ObservedContainerGroup(
        name=a.container_group,
        location="eastus",
        image=settings.docker.image,
        cpu=a.cpu,
        memory_gb=a.memory_gb,
        container_name=a.container_group,
        registry_server="index.docker.io",
        registry_username="myuser",
        env=dict.fromkeys(SECURE_ENV),
        provisioning_state="Succeeded",
        state="Stopped",
        tags={FINGERPRINT_TAG: fp, **OURS},
    )
    group = replace(group, **group_changes)
    wf = ObservedWorkflow(
        id="wf",
        definition=lw.definition(a.trigger, SUB, a.resource_group, a.container_group),
        parameters=lw.workflow_parameters(a.trigger, SUB, a.resource_group, a.location),
        identity_type="SystemAssigned" if a.trigger == "managed-identity" else None,
        principal_id="p-1" if a.trigger == "managed-identity" else None,
        tags=dict(OURS),
    )
    return Observed(
        resource_group=ObservedResourceGroup(
            a.resource_group, "eastus", {MANAGED_BY_TAG: MANAGED_BY_VALUE}
        ),
        container_group=group,
        connection=ObservedConnection("conn", "Connected", dict(OURS))
        if a.trigger == "api-connection"
        else None,
        workflow=wf,
        role_assignment=ObservedRoleAssignment("ra", "ra-name", "p-1")
        if a.trigger == "managed-identity"
        else None,
    )


def actions(plan) -> dict[str, str]:  # noqa: ANN001
    return {a.resource: a.action for a in plan.actions}


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_first_run_creates_everything_of_its_mode(trigger: str) -> None:
    plan = compute_plan(make_settings(trigger), Observed())
    expected = {"resource_group": "create", "container_group": "create", "workflow": "create"}
    expected["api_connection" if trigger == "api-connection" else "role_assignment"] = "create"
    assert actions(plan) == expected
    assert plan.to_dict()["actions"][0] == {
        "resource": "resource_group",
        "name": "numerai-rg",
        "action": "create",
        "reason": "in eastus",
    }


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_nothing_changed_means_all_keep(trigger: str) -> None:
    s = make_settings(trigger)
    plan = compute_plan(s, existing(s), secrets_fingerprint(SECRETS, s.numerai.model_ids))
    assert plan.changes == []
    assert set(actions(plan).values()) == {"keep"}


def test_resize_is_a_recreate_of_the_group_only_with_a_reason() -> None:
    s = make_settings()
    observed = existing(s)
    s.azure.memory_gb = 4.0
    plan = compute_plan(s, observed)
    assert [(a.resource, a.action) for a in plan.changes] == [("container_group", "recreate")]
    assert (
        plan.for_resource("container_group").reason
        == "memory 2.5 -> 4 GB: ARM cannot change it in place"
    )


def test_new_image_is_an_update_of_the_group_only() -> None:
    s = make_settings()
    observed = existing(s)
    s.docker.image = "myuser/numerai-predict:v2"
    plan = compute_plan(s, observed)
    assert [(a.resource, a.action) for a in plan.changes] == [("container_group", "update")]
    assert "myuser/numerai-predict:latest -> myuser/numerai-predict:v2" in plan.changes[0].reason


def test_key_change_updates_the_group_and_no_fingerprint_means_no_opinion() -> None:
    s = make_settings()
    observed = existing(s)
    other = secrets_fingerprint(Secrets("C" * 32, "B" * 64, "pw"), s.numerai.model_id)
    assert actions(compute_plan(s, observed, other))["container_group"] == "update"
    assert actions(compute_plan(s, observed, None))["container_group"] == "keep"


def test_fingerprint_is_short_stable_and_depends_on_each_secret() -> None:
    fp = secrets_fingerprint(SECRETS, "m")
    assert len(fp) == 16 and fp == secrets_fingerprint(SECRETS, "m")
    assert fp != secrets_fingerprint(SECRETS, "n")
    assert fp != secrets_fingerprint(Secrets("A" * 32, "B" * 64, "other"), "m")
    assert SECRETS.numerai_secret_key not in fp
    # a password that no registry credential uses does not count
    public = secrets_fingerprint(SECRETS, "m", with_registry_password=False)
    assert public == secrets_fingerprint(Secrets("A" * 32, "B" * 64, ""), "m", False)


def test_failed_group_and_public_ip_and_restart_policy_recreate() -> None:
    s = make_settings()
    assert (
        actions(compute_plan(s, existing(s, provisioning_state="Failed")))["container_group"]
        == "recreate"
    )
    plan = compute_plan(s, existing(s, has_ip_address=True, restart_policy="Always"))
    reason = plan.for_resource("container_group").reason
    assert "restart policy Always -> Never" in reason and "public IP" in reason


def test_registry_server_follows_the_image() -> None:
    s = make_settings()
    s.docker.image = "registry.example.com:5000/team/model:1"
    assert desired_group(s, {}).registry_server == "registry.example.com:5000"
    s.docker.username = ""
    assert desired_group(s, {}).registry_server is None


def test_api_url_env_var_is_passed_on_only_when_set() -> None:
    s = make_settings()
    assert "NUMERAI_API_URL" not in desired_group(s, {}).env_names
    g = desired_group(s, {"NUMERAI_API_URL": "http://127.0.0.1:9/graphql"})
    assert g.plain_env == {"NUMERAI_API_URL": "http://127.0.0.1:9/graphql"}


def test_workflow_pointing_elsewhere_or_mode_switch_is_an_update() -> None:
    s = make_settings()
    observed = existing(s)
    s.azure.container_group = "other-group"
    assert actions(compute_plan(s, observed))["workflow"] == "update"
    s = make_settings()
    observed = existing(s)
    s.azure.trigger = "managed-identity"
    plan = compute_plan(s, observed)
    assert actions(plan)["workflow"] == "update"
    assert actions(plan)["role_assignment"] == "create"
    assert actions(plan)["api_connection"] == "delete"


def test_unauthorized_connection_is_kept_not_recreated() -> None:
    s = make_settings()
    observed = replace(existing(s), connection=ObservedConnection("c", "Error", dict(OURS)))
    action = compute_plan(s, observed).for_resource("api_connection")
    assert (action.action, action.reason) == (
        "keep",
        "exists, not authorized yet (status Error): deploy shows the one manual step",
    )
    connected = replace(observed, connection=ObservedConnection("c", "Connected", dict(OURS)))
    assert (
        compute_plan(s, connected).for_resource("api_connection").reason
        == "exists and is authorized"
    )


def test_plan_json_round_trips() -> None:
    plan = compute_plan(make_settings(), Observed())
    assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()


def test_plan_module_imports_no_azure() -> None:
    code = (
        "import sys, numerai_aci_wizard.plan; "
        "print(any(m.startswith('azure') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_docker_hub_spellings_are_one_image_and_aci_gets_the_short_form() -> None:
    s = make_settings()
    observed = existing(s)  # the group runs "myuser/numerai-predict:latest"
    for spelling, sent in (
        ("docker.io/myuser/numerai-predict:latest", "myuser/numerai-predict:latest"),
        ("index.docker.io/myuser/numerai-predict:latest", "myuser/numerai-predict:latest"),
        ("registry-1.docker.io/myuser/numerai-predict", "myuser/numerai-predict"),
    ):
        s.docker.image = spelling
        assert desired_group(s, {}).image == sent
        assert desired_group(s, {}).registry_server == "index.docker.io"
        assert actions(compute_plan(s, observed, None))["container_group"] == "keep", spelling
    s.docker.image = "docker.io/myuser/numerai-predict:v2"
    plan = compute_plan(s, observed, None)
    assert plan.for_resource("container_group").action == "update"
    assert "-> myuser/numerai-predict:v2" in plan.for_resource("container_group").reason


def test_a_group_created_with_the_long_form_is_kept_for_the_short_one() -> None:
    s = make_settings()
    observed = existing(s, image="docker.io/myuser/numerai-predict:latest")
    assert actions(compute_plan(s, observed, None))["container_group"] == "keep"
    other = existing(s, image="ghcr.io/myuser/numerai-predict:latest")
    assert actions(compute_plan(s, other, None))["container_group"] == "update"


MODEL_B = "7c1e5a2b-3d4f-4a6b-8c9d-0e1f2a3b4c5d"
MODEL_C = "0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d"
URL = "https://prod-00.eastus.logic.azure.com/workflows/abc/triggers/request/paths/invoke?sig=x"


def test_the_group_gets_every_model_id_and_a_new_model_list_updates_it() -> None:
    s = make_settings()
    assert set(SECURE_ENV) == {
        "NUMERAI_PUBLIC_ID",
        "NUMERAI_SECRET_KEY",
        "NUMERAI_MODEL_IDS",
        "NUMERAI_MODEL_ID",
    }
    assert set(desired_group(s, {}).env_names) == set(SECURE_ENV)
    observed = existing(s)
    s.numerai.model_ids = [s.numerai.model_id, MODEL_B]
    action = compute_plan(s, observed, secrets_fingerprint(SECRETS, s.numerai.model_ids))
    assert actions(compute_plan(s, observed, None))["container_group"] == "keep"
    assert action.for_resource("container_group").action == "update"
    assert "model ids" in action.for_resource("container_group").reason
    # an older group without NUMERAI_MODEL_IDS is updated to carry it
    old = existing(
        s, env={"NUMERAI_PUBLIC_ID": None, "NUMERAI_SECRET_KEY": None, "NUMERAI_MODEL_ID": None}
    )
    assert (
        "environment variables" in compute_plan(s, old, None).for_resource("container_group").reason
    )


def test_the_fingerprint_counts_the_model_list_in_order() -> None:
    one = secrets_fingerprint(SECRETS, ["m"])
    assert one == secrets_fingerprint(SECRETS, "m")  # a one-model group is not disturbed
    assert secrets_fingerprint(SECRETS, ["m", "n"]) not in (
        one,
        secrets_fingerprint(SECRETS, ["n", "m"]),
    )


def test_one_webhook_action_per_model_the_first_holds_it() -> None:
    s = make_settings()
    first = s.numerai.model_id
    s.numerai.model_ids = [first, MODEL_B, MODEL_C]
    names = {"alpha": first, "beta": MODEL_B}
    got = webhook_actions(s, URL, registered_model_id="", registered_fingerprint="", names=names)
    assert [(a.resource, a.name, a.action) for a in got] == [
        ("webhook", "alpha", "create"),
        ("webhook", "beta", "keep"),
        ("webhook", MODEL_C, "keep"),
    ]
    assert got[1].reason == "served by alpha's webhook: one run submits for all models"
    kept = webhook_actions(
        s, URL, registered_model_id=first, registered_fingerprint=fingerprint(URL), names=names
    )
    assert [a.action for a in kept] == ["keep", "keep", "keep"]
    moved = webhook_actions(s, URL, registered_model_id=first, registered_fingerprint="old")
    assert moved[0].action == "update"


def test_a_model_that_held_the_webhook_before_is_cleared() -> None:
    s = make_settings()
    first = s.numerai.model_id
    s.numerai.model_ids = [MODEL_B, first]  # the user put another model first
    got = webhook_actions(
        s, URL, registered_model_id=first, registered_fingerprint=fingerprint(URL)
    )
    assert [(a.name, a.action) for a in got] == [(MODEL_B, "create"), (first, "delete")]
    assert "cleared" in got[1].reason and MODEL_B in got[1].reason
    # a holder no longer in the list is cleared too; with register_webhook off nothing is touched
    s.numerai.model_ids = [MODEL_C]
    assert [
        a.action
        for a in webhook_actions(s, URL, registered_model_id=first, registered_fingerprint="")
    ] == [
        "create",
        "delete",
    ]
    s.numerai.register_webhook = False
    off = webhook_actions(s, URL, registered_model_id=first, registered_fingerprint="")
    assert [a.action for a in off] == ["keep"] and "register_webhook = false" in off[0].reason


# --- only what is ours ------------------------------------------------------------------


def _foreign_workflow(observed: Observed) -> Observed:
    assert observed.workflow is not None
    return replace(observed, workflow=replace(observed.workflow, tags={"owner": "someone"}))


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_a_foreign_logic_app_is_kept_and_named(trigger: str) -> None:
    from numerai_aci_wizard.plan import NOT_OURS, foreign

    s = make_settings(trigger)
    observed = _foreign_workflow(existing(s))
    s.azure.memory_gb = 4.0  # a change elsewhere still goes ahead in the plan
    plan = compute_plan(s, observed)
    wf = plan.for_resource("workflow")
    assert (wf.action, wf.reason) == ("keep", f"{NOT_OURS} (deploy --adopt takes it over)")
    assert plan.for_resource("container_group").action == "recreate"
    found = foreign(s, observed)
    assert ("workflow", "startaci") in found
    if trigger == "managed-identity":  # its role assignment is the Logic App's, not ours
        assert ("role_assignment", "ra-name") in found
        assert plan.for_resource("role_assignment").action == "keep"
    # changes to it are not planned either
    changed = replace(observed, workflow=replace(observed.workflow, definition={}))
    assert compute_plan(s, changed).for_resource("workflow").action == "keep"


def test_every_kind_of_foreign_resource_is_found() -> None:
    from numerai_aci_wizard.plan import foreign

    s = make_settings()
    ours = existing(s)
    assert foreign(s, ours) == []
    theirs = replace(
        ours,
        container_group=replace(ours.container_group, tags={FINGERPRINT_TAG: "x"}),
        connection=replace(ours.connection, tags={}),
    )
    assert foreign(s, theirs) == [("container_group", "numerai-predict"), ("api_connection", "aci")]
    plan = compute_plan(s, theirs, secrets_fingerprint(SECRETS, s.numerai.model_id))
    assert plan.for_resource("container_group").action == "keep"
    assert plan.for_resource("api_connection").reason.startswith("exists, not created by this tool")


def test_adopt_takes_a_foreign_resource_over() -> None:
    from numerai_aci_wizard.plan import ADOPT_REASON

    s = make_settings()
    observed = _foreign_workflow(existing(s))
    wf = compute_plan(s, observed, adopt=True).for_resource("workflow")
    assert (wf.action, wf.reason) == ("update", ADOPT_REASON)
    changed = replace(observed, workflow=replace(observed.workflow, definition={}))
    wf = compute_plan(s, changed, adopt=True).for_resource("workflow")
    assert wf.action == "update" and wf.reason.endswith("take it over (tag it)")


def test_a_run_left_by_a_failed_stop_is_stopped_by_the_next_plan() -> None:
    from numerai_aci_wizard.plan import STOP_LEFTOVER, leftover_run

    s = make_settings()
    running = replace(existing(s).container_group, state="Running")
    keep = compute_plan(s, replace(existing(s), container_group=running)).for_resource(
        "container_group"
    )
    assert keep.action == "keep"
    assert leftover_run(keep, running, stop_pending=True).reason == STOP_LEFTOVER
    assert leftover_run(keep, running, stop_pending=True).action == "update"
    # a run Numerai started (no stop pending) and a stopped group are left alone
    assert leftover_run(keep, running, stop_pending=False) is keep
    stopped = replace(running, state="Terminated")
    assert leftover_run(keep, stopped, stop_pending=True) is keep


def test_a_stop_left_by_an_interrupted_deploy_is_planned_as_such() -> None:
    from numerai_aci_wizard.plan import STOP_INTERRUPTED, leftover_run

    s = make_settings()
    running = replace(existing(s).container_group, state="Running")
    keep = compute_plan(s, replace(existing(s), container_group=running)).for_resource(
        "container_group"
    )
    action = leftover_run(keep, running, stop_pending=True, reason=STOP_INTERRUPTED)
    assert (action.action, action.reason) == (
        "update",
        "stop the run left from an interrupted deploy",
    )
