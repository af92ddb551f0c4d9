"""The Logic App definition: what Numerai's webhook starts, in both trigger modes."""

from __future__ import annotations

import json

from numerai_aci_wizard import workflow as lw

SUB = "00000000-0000-0000-0000-000000000001"


def test_connector_action_names_the_connection_by_expression_not_literal() -> None:
    d = lw.definition(lw.API_CONNECTION, SUB, "numerai-rg", "numerai-predict")
    start = d["actions"][lw.START_ACTION]
    assert start["type"] == "ApiConnection"
    assert (
        start["inputs"]["host"]["connection"]["name"]
        == "@parameters('$connections')['aci']['connectionId']"
    )
    assert start["inputs"]["method"] == "post"
    assert start["inputs"]["path"].endswith(
        "/containerGroups/@{encodeURIComponent('numerai-predict')}/start"
    )
    assert f"@{{encodeURIComponent('{SUB}')}}" in start["inputs"]["path"]
    assert d["parameters"] == {"$connections": {"defaultValue": {}, "type": "Object"}}


def test_managed_identity_action_posts_start_to_public_arm_with_msi() -> None:
    d = lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg")
    start = lw.start_call(d)
    assert start["type"] == "Http"
    assert start["inputs"]["uri"] == (
        f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers/"
        "Microsoft.ContainerInstance/containerGroups/cg/start?api-version=2023-05-01"
    )
    assert start["inputs"]["authentication"] == {
        "type": "ManagedServiceIdentity",
        "audience": "https://management.azure.com/",
    }
    assert "$connections" not in json.dumps(d)


def test_trigger_accepts_numerai_payload_and_empty_body_and_answers_200() -> None:
    d = lw.definition(lw.API_CONNECTION, SUB, "rg", "cg")
    trigger = d["triggers"][lw.TRIGGER_NAME]
    assert (trigger["type"], trigger["kind"]) == ("Request", "Http")
    schema = trigger["inputs"]["schema"]
    assert set(schema["properties"]) == {"roundNumber", "dataVersion", "triggerId", "isTest"}
    assert "required" not in schema  # an empty body must start the job too
    response = d["actions"][lw.RESPONSE_ACTION]
    assert response["type"] == "Response"
    assert response["inputs"]["statusCode"] == 200
    assert response["runAfter"] == {}  # Numerai's answer first: a start may take minutes
    for mode in (lw.API_CONNECTION, lw.MANAGED_IDENTITY):
        start = lw.definition(mode, SUB, "rg", "cg")["actions"][lw.START_ACTION]
        # the start goes ahead whether the answer to Numerai succeeded, failed or timed out
        assert start["runAfter"] == {
            lw.RESPONSE_ACTION: ["Succeeded", "Failed", "TimedOut", "Skipped"]
        }


def test_connections_parameter_binds_aci_to_our_connection() -> None:
    p = lw.connections_parameter(SUB, "rg", "eastus")["$connections"]["value"]["aci"]
    assert (
        p["connectionId"]
        == f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/connections/aci"
    )
    assert (
        p["id"] == f"/subscriptions/{SUB}/providers/Microsoft.Web/locations/eastus/managedApis/aci"
    )
    assert lw.connection_body(SUB, "eastus")["properties"]["api"]["id"] == p["id"]


def test_differences_ignore_bookkeeping_keys_but_see_a_changed_target() -> None:
    want = lw.definition(lw.API_CONNECTION, SUB, "rg", "cg")
    as_returned = {
        k: v for k, v in want.items() if k not in ("contentVersion", "outputs", "$schema")
    }
    assert lw.definition_differences(as_returned, want) == []
    other = lw.definition(lw.API_CONNECTION, SUB, "rg", "other")
    assert lw.definition_differences(other, want) == [
        "the start action targets a different container group or API"
    ]
    mi = lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg")
    assert lw.definition_differences(mi, want)[0] == "start action Until -> ApiConnection"
    assert lw.definition_differences(None, want)


def test_connections_compared_case_insensitively() -> None:
    want = lw.connections_parameter(SUB, "rg", "eastus")
    upper = json.loads(json.dumps(want).replace("resourceGroups/rg", "resourceGroups/RG"))
    assert not lw.connections_differ(upper, want)
    assert lw.connections_differ({}, want)


def test_managed_identity_start_is_retried_while_the_role_propagates_bounded() -> None:
    """Logic Apps' default retry policy never retries a 403: the loop does, within bounds."""
    loop = lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg")["actions"][lw.START_ACTION]
    assert loop["type"] == "Until"
    assert loop["expression"] == f"@not(equals(outputs('{lw.START_REQUEST}')?['statusCode'], 403))"
    assert loop["limit"] == {"count": 30, "timeout": "PT40M"}
    wait = loop["actions"][lw.ROLE_WAIT_ACTION]
    assert wait["type"] == "Wait"
    assert wait["runAfter"] == {lw.START_REQUEST: ["Failed"]}  # no pause after a good start
    assert wait["inputs"]["interval"] == {"count": 1, "unit": "Minute"}


def test_an_older_deployed_workflow_is_updated_with_reasons() -> None:
    want = lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg")
    old = lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg")
    old["actions"][lw.START_ACTION] = dict(lw.start_call(want))
    old["actions"][lw.START_ACTION]["runAfter"] = {lw.RESPONSE_ACTION: ["Succeeded"]}
    assert lw.definition_differences(old, want) == [
        "retry the start while a new role assignment takes effect"
    ]
    api = lw.definition(lw.API_CONNECTION, SUB, "rg", "cg")
    api_old = lw.definition(lw.API_CONNECTION, SUB, "rg", "cg")
    api_old["actions"][lw.START_ACTION]["runAfter"] = {lw.RESPONSE_ACTION: ["Succeeded"]}
    assert lw.definition_differences(api_old, api) == [
        "start the container even when the answer to Numerai fails"
    ]
