"""The Logic App as Numerai meets it: an answer at once, then the start; and its run history.

The local ARM server runs the stored workflow when the webhook is called (Logic Apps'
synchronous-answer limit and a slow container start are knobs), and serves the runs API
(list newest first with $top, a run, its actions) that `history` reads.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from numerai_aci_wizard import workflow as lw
from numerai_aci_wizard.services.azure_provision import Azure
from tests.support import ARM_SECRETS, arm_settings


def _deploy(server: Any, credential: Any, trigger: str) -> tuple[Azure, str]:
    azure = Azure(arm_settings(server, trigger), credential, polling_interval=0)
    result = azure.apply(ARM_SECRETS)
    if trigger == lw.API_CONNECTION:
        server.authorize_connection("aci")
    return azure, result.webhook_url


@pytest.mark.parametrize("trigger", [lw.API_CONNECTION, lw.MANAGED_IDENTITY])
def test_the_webhook_answers_200_before_a_slow_start_ends_and_the_container_starts(
    arm_server: Any, credential: Any, trigger: str
) -> None:
    _azure, url = _deploy(arm_server, credential, trigger)
    starts_before = len(arm_server.runs)
    arm_server.logic_sync_limit = 1.5  # Logic Apps cuts a synchronous answer (120 s real)
    arm_server.start_seconds = 4.0  # an image pull that takes its time
    status, body = arm_server.invoke_webhook(url, {"roundNumber": 1101, "isTest": False})
    assert status == 200, body
    assert len(arm_server.runs) == starts_before, "the answer came only after the start"
    arm_server.wait_for_runs("numerai-rg", "startaci", timeout=30)
    assert len(arm_server.runs) == starts_before + 1  # and the container still started
    [run] = arm_server.runs_of("numerai-rg", "startaci")
    assert run["properties"]["status"] == "Succeeded"


def test_a_workflow_that_starts_before_answering_times_the_caller_out(
    arm_server: Any, credential: Any
) -> None:
    """The fake enforces the limit: the old order (start, then Response) fails here."""
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.logic.models import Workflow

    azure, url = _deploy(arm_server, credential, lw.MANAGED_IDENTITY)
    client = LogicManagementClient(
        credential, arm_server.subscription_id, base_url=arm_server.endpoint
    )
    wf = client.workflows.get("numerai-rg", "startaci")
    definition = wf.definition
    definition["actions"][lw.START_ACTION]["runAfter"] = {}
    definition["actions"][lw.RESPONSE_ACTION]["runAfter"] = {lw.START_ACTION: ["Succeeded"]}
    client.workflows.create_or_update(
        "numerai-rg",
        "startaci",
        Workflow(location="eastus", definition=definition, identity=wf.identity, tags=wf.tags),
    )
    arm_server.logic_sync_limit = 0.5
    arm_server.start_seconds = 3.0
    status, body = arm_server.invoke_webhook(url)
    assert status == 504 and body["error"]["code"] == "ActionResponseTimedOut"
    assert azure.plan().for_resource("workflow").action == "update"


def test_history_lists_a_failed_unauthorized_call_and_a_later_good_one_newest_first(
    arm_server: Any, credential: Any
) -> None:
    azure = Azure(arm_settings(arm_server, lw.API_CONNECTION), credential, polling_interval=0)
    url = azure.apply(ARM_SECRETS).webhook_url
    assert azure.runs() == []
    status, _ = arm_server.invoke_webhook(url, {})  # before the portal sign-in
    assert status == 200  # Numerai still gets its answer; the start fails behind it
    arm_server.wait_for_runs("numerai-rg", "startaci")
    time.sleep(0.01)  # distinct start times
    arm_server.authorize_connection("aci")
    assert arm_server.invoke_webhook(url, {})[0] == 200
    arm_server.wait_for_runs("numerai-rg", "startaci")

    newest, older = azure.runs(limit=5)
    assert newest.status == "succeeded" and not newest.code
    assert older.status == "failed"
    assert older.failed_action == lw.START_ACTION
    assert older.code == "Unauthorized" and "not authorized" in older.message
    assert newest.started is not None and older.started is not None
    assert newest.started >= older.started
    assert [r.name for r in azure.runs(limit=1)] == [newest.name]


def test_runs_api_bodies_and_errors(arm_server: Any, credential: Any) -> None:
    import requests

    _azure, url = _deploy(arm_server, credential, lw.API_CONNECTION)
    arm_server.invoke_webhook(url)
    arm_server.wait_for_runs("numerai-rg", "startaci")
    token = credential.get_token("https://management.azure.com/.default").token
    base = (
        f"{arm_server.endpoint}/subscriptions/{arm_server.subscription_id}/resourceGroups/"
        "numerai-rg/providers/Microsoft.Logic/workflows/startaci/runs"
    )

    def get(path: str) -> Any:
        return requests.get(
            f"{base}{path}?api-version=2019-05-01",
            headers={"Authorization": f"Bearer {token}"},
            verify=arm_server.ca_path,
            timeout=10,
        )

    [run] = get("").json()["value"]
    assert run["type"] == "Microsoft.Logic/workflows/runs"
    assert run["properties"]["trigger"]["name"] == lw.TRIGGER_NAME
    actions = get(f"/{run['name']}/actions").json()["value"]
    assert [a["name"] for a in actions] == [lw.RESPONSE_ACTION, lw.START_ACTION]
    assert all(a["properties"]["status"] == "Succeeded" for a in actions)
    missing = get("/08584000000000000000000000000CU00")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "WorkflowRunNotFound"


def test_a_round_right_after_a_managed_identity_deploy_starts_the_container(
    arm_server: Any, credential: Any
) -> None:
    """The new role grants nothing for minutes (Azure time, on the stand-in's clock); the
    workflow's own loop retries the refused start until it works: one call is enough."""
    arm_server.role_propagation_seconds = 5 * 60
    _azure, url = _deploy(arm_server, credential, lw.MANAGED_IDENTITY)
    before = len(arm_server.runs)
    status, _ = arm_server.invoke_webhook(url, {"roundNumber": 1101})
    assert status == 200
    arm_server.wait_for_runs("numerai-rg", "startaci")
    assert len(arm_server.runs) == before + 1  # the container ran, from that one call
    [run] = arm_server.runs_of("numerai-rg", "startaci")
    assert run["properties"]["status"] == "Succeeded"
    actions = run["_actions"]
    loop, call = actions[lw.START_ACTION], actions[lw.START_REQUEST]
    # refused while the role propagated (one try a minute), then the start that worked
    assert loop["properties"]["iterationCount"] == 6
    assert call["properties"]["status"] == "Succeeded"
    assert "retryHistory" not in call["properties"]  # nothing was retried by the policy


def test_the_default_retry_policy_retries_a_503_but_never_a_403(
    arm_server: Any, credential: Any
) -> None:
    """Taught to the stand-in from Logic Apps' docs: 408, 429 and 5xx are retried."""
    _azure, url = _deploy(arm_server, credential, lw.MANAGED_IDENTITY)
    arm_server.start_faults = [503, 503]
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs("numerai-rg", "startaci")
    [run] = arm_server.runs_of("numerai-rg", "startaci")
    call = run["_actions"][lw.START_REQUEST]["properties"]
    assert [h["code"] for h in call["retryHistory"]] == ["ServiceUnavailable"] * 2
    assert call["status"] == "Succeeded"
    assert run["_actions"][lw.START_ACTION]["properties"]["iterationCount"] == 1


def test_without_the_loop_a_round_in_the_propagation_window_is_lost(
    arm_server: Any, credential: Any
) -> None:
    """Why the loop: the plain Http start (the earlier definition) fails once, for good."""
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.logic.models import Workflow

    arm_server.role_propagation_seconds = 5 * 60
    azure, url = _deploy(arm_server, credential, lw.MANAGED_IDENTITY)
    client = LogicManagementClient(
        credential, arm_server.subscription_id, base_url=arm_server.endpoint
    )
    wf = client.workflows.get("numerai-rg", "startaci")
    definition = wf.definition
    plain = dict(lw.start_call(definition), runAfter={lw.RESPONSE_ACTION: ["Succeeded"]})
    definition["actions"][lw.START_ACTION] = plain
    client.workflows.create_or_update(
        "numerai-rg",
        "startaci",
        Workflow(location="eastus", definition=definition, identity=wf.identity, tags=wf.tags),
    )
    before = len(arm_server.runs)
    assert arm_server.invoke_webhook(url, {})[0] == 200
    arm_server.wait_for_runs("numerai-rg", "startaci")
    assert len(arm_server.runs) == before  # never started
    [run] = azure.runs(1)
    assert (run.status, run.code) == ("failed", "AuthorizationFailed")
    [record] = arm_server.runs_of("numerai-rg", "startaci")
    assert "retryHistory" not in record["_actions"][lw.START_ACTION]["properties"]
    plan = azure.plan().for_resource("workflow")
    assert plan.action == "update"
    assert "retry the start while a new role assignment takes effect" in plan.reason


@pytest.mark.parametrize("outcome", ["Failed", "TimedOut"])
@pytest.mark.parametrize("trigger", [lw.API_CONNECTION, lw.MANAGED_IDENTITY])
def test_the_start_runs_when_the_answer_to_numerai_fails(
    arm_server: Any, credential: Any, trigger: str, outcome: str
) -> None:
    _azure, url = _deploy(arm_server, credential, trigger)
    before = len(arm_server.runs)
    arm_server.response_outcome = outcome  # the caller went away before its answer
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs("numerai-rg", "startaci")
    [run] = arm_server.runs_of("numerai-rg", "startaci")
    assert run["_actions"][lw.RESPONSE_ACTION]["properties"]["status"] == outcome
    assert run["_actions"][lw.START_ACTION]["properties"]["status"] == "Succeeded"
    assert len(arm_server.runs) == before + 1  # the round ran all the same


def test_the_old_run_after_skips_the_start_when_the_answer_fails(
    arm_server: Any, credential: Any
) -> None:
    """The stand-in's runtime honours runAfter: with only "Succeeded" the round is lost."""
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.logic.models import Workflow

    _azure, url = _deploy(arm_server, credential, lw.API_CONNECTION)
    client = LogicManagementClient(
        credential, arm_server.subscription_id, base_url=arm_server.endpoint
    )
    wf = client.workflows.get("numerai-rg", "startaci")
    definition = wf.definition
    definition["actions"][lw.START_ACTION]["runAfter"] = {lw.RESPONSE_ACTION: ["Succeeded"]}
    client.workflows.create_or_update(
        "numerai-rg",
        "startaci",
        Workflow(location="eastus", definition=definition, parameters=wf.parameters, tags=wf.tags),
    )
    arm_server.response_outcome = "Failed"
    before = len(arm_server.runs)
    arm_server.invoke_webhook(url, {})
    arm_server.wait_for_runs("numerai-rg", "startaci")
    [run] = arm_server.runs_of("numerai-rg", "startaci")
    assert run["_actions"][lw.START_ACTION]["properties"]["status"] == "Skipped"
    assert len(arm_server.runs) == before


def test_a_definition_with_a_bad_loop_or_run_after_is_refused(
    arm_server: Any, credential: Any
) -> None:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.logic import LogicManagementClient
    from azure.mgmt.logic.models import Workflow

    _deploy(arm_server, credential, lw.MANAGED_IDENTITY)
    client = LogicManagementClient(
        credential, arm_server.subscription_id, base_url=arm_server.endpoint
    )
    wf = client.workflows.get("numerai-rg", "startaci")
    for change, words in (
        (lambda d: d["actions"][lw.START_ACTION].update(runAfter={lw.RESPONSE_ACTION: ["Done"]}),
         "must list statuses"),
        (lambda d: d["actions"][lw.START_ACTION]["limit"].update(timeout="40 minutes"),
         "ISO 8601 duration"),
        (lambda d: d["actions"][lw.START_ACTION]["actions"][lw.ROLE_WAIT_ACTION]["inputs"]
         ["interval"].update(unit="Minutes"), "'unit' of Second"),
    ):  # fmt: skip
        definition = lw.definition(lw.MANAGED_IDENTITY, arm_server.subscription_id, "numerai-rg",
                                   "numerai-predict")  # fmt: skip
        change(definition)
        with pytest.raises(HttpResponseError) as caught:
            client.workflows.create_or_update(
                "numerai-rg",
                "startaci",
                Workflow(location="eastus", definition=definition, identity=wf.identity,
                         tags=wf.tags),
            )  # fmt: skip
        assert caught.value.error.code == "InvalidTemplate"
        assert words in caught.value.error.message


def test_an_old_role_assignment_that_is_refused_is_not_waited_for(
    arm_server: Any, credential: Any
) -> None:
    from datetime import UTC, datetime

    azure = Azure(arm_settings(arm_server, lw.MANAGED_IDENTITY), credential, polling_interval=0)
    url = azure.apply(ARM_SECRETS).webhook_url
    for key, body in arm_server.resources.items():  # the grant exists since long ago ...
        if "/roleassignments/" in key:
            body["properties"]["createdOn"] = "2020-01-01T00:00:00.000000Z"
    arm_server.role_propagation_seconds = 10**9  # ... and still does not work
    since = datetime.now(UTC)
    arm_server.invoke_webhook(url, {})
    retriggers: list[int] = []
    run = azure.await_trigger_run(since, lambda: retriggers.append(1), retry_every=0.1, poll=0.1)
    assert run is not None and run.status == "failed" and retriggers == []
    # the loop gave up at its limit; history names the refused start inside it
    assert (run.failed_action, run.code) == (lw.START_REQUEST, "AuthorizationFailed")
