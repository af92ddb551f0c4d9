"""The Logic App that Numerai's webhook calls, as plain data.

Pure (no Azure import) so the exact definition we send can be unit-tested and compared
with what ARM returns: a re-run must see "nothing changed" and write nothing. The two
trigger modes differ only in the action that starts the container group:

* ``api-connection``: an ``ApiConnection`` action through the managed API ``aci``. The
  connection is named by the ``@parameters('$connections')['aci']['connectionId']``
  expression (the original template wrote a literal string, which breaks the binding).
* ``managed-identity``: an ``Http`` action authenticated with the workflow's
  system-assigned identity, aimed at the cloud's own ARM whatever endpoint the tool
  itself used (the workflow runs in Azure, not here).

In both, the ``Response`` 200 runs first and the start after it: starting a container
group is a long-running operation (an image pull can take minutes), Logic Apps cuts a
synchronous answer at 120 s, and a failed start would otherwise mean no answer at all.
Numerai gets its 200 at once; what the start did is in the run history. The start runs
whether the Response succeeded, failed or timed out (``runAfter`` lists every outcome):
a caller that went away before its answer must not cost the round.

Managed identity: a new role assignment takes Azure minutes to put into effect, and a
round's call in that time gets 403 from ARM. Logic Apps' default retry policy retries
408, 429 and 5xx only, never a 403, so the start sits in an ``Until`` loop: the ``Http``
start, then (only if it failed) a ``Wait`` of :data:`ROLE_RETRY_MINUTES`, until the start
answers anything but 403, bounded by :data:`ROLE_RETRY_COUNT` tries and
:data:`ROLE_RETRY_TIMEOUT`. Any other failure (404, 409) ends the loop at once.
"""

from __future__ import annotations

import copy
from typing import Any

from .clouds import cloud

API_CONNECTION = "api-connection"
MANAGED_IDENTITY = "managed-identity"

CONNECTION_NAME = "aci"
TRIGGER_NAME = "request"
START_ACTION = "start_container_group"
RESPONSE_ACTION = "response"
#: Managed identity: inside the START_ACTION ``Until`` loop, the start call and the pause.
START_REQUEST = "start_request"
ROLE_WAIT_ACTION = "wait_for_role"
ROLE_RETRY_MINUTES = 1
ROLE_RETRY_COUNT = 30
ROLE_RETRY_TIMEOUT = "PT40M"  # Azure documents up to 10 minutes for a role to apply; margin
#: Every outcome of the Response: the start goes ahead even when the answer did not.
AFTER_RESPONSE = ["Succeeded", "Failed", "TimedOut", "Skipped"]
DEFINITION_SCHEMA = "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#"
PUBLIC_ARM = cloud().msi_audience
#: The ACI api-version the workflow's start call uses (the connector speaks an older one).
ACI_API_VERSION = "2023-05-01"
CONNECTOR_ACI_API_VERSION = "2019-12-01"

#: Numerai's webhook body. Nothing is required: Numerai's test button and a manual
#: trigger send an empty body, which must start the job too.
NUMERAI_PAYLOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "roundNumber": {"type": "integer"},
        "dataVersion": {"type": "string"},
        "triggerId": {"type": "string"},
        "isTest": {"type": "boolean"},
    },
}


def group_path(subscription_id: str, resource_group: str, container_group: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.ContainerInstance/containerGroups/{container_group}"
    )


def connection_id(subscription_id: str, resource_group: str) -> str:
    """The ``aci`` connection's resource id: deterministic, so the plan needs no lookup."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Web/connections/{CONNECTION_NAME}"
    )


def managed_api_id(subscription_id: str, location: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Web"
        f"/locations/{location}/managedApis/aci"
    )


def connection_body(subscription_id: str, location: str) -> dict[str, Any]:
    """PUT body of Microsoft.Web/connections/aci (2016-06-01). It starts unauthenticated."""
    return {
        "location": location,
        "properties": {
            "displayName": CONNECTION_NAME,
            "api": {"id": managed_api_id(subscription_id, location)},
        },
    }


def connections_parameter(
    subscription_id: str, resource_group: str, location: str
) -> dict[str, Any]:
    """The workflow's ``$connections`` parameter value binding ``aci`` to our connection."""
    return {
        "$connections": {
            "value": {
                CONNECTION_NAME: {
                    "connectionId": connection_id(subscription_id, resource_group),
                    "connectionName": CONNECTION_NAME,
                    "id": managed_api_id(subscription_id, location),
                }
            }
        }
    }


def _start_action(
    mode: str, subscription_id: str, resource_group: str, container_group: str, cloud_name: str
) -> dict[str, Any]:
    after = {RESPONSE_ACTION: list(AFTER_RESPONSE)}
    if mode == API_CONNECTION:
        path = (
            f"/subscriptions/@{{encodeURIComponent('{subscription_id}')}}"
            f"/resourceGroups/@{{encodeURIComponent('{resource_group}')}}"
            f"/providers/Microsoft.ContainerInstance/containerGroups/@{{encodeURIComponent('{container_group}')}}"
            "/start"
        )
        return {
            "type": "ApiConnection",
            "runAfter": after,
            "inputs": {
                "host": {
                    "connection": {
                        "name": f"@parameters('$connections')['{CONNECTION_NAME}']['connectionId']"
                    }
                },
                "method": "post",
                "path": path,
                "queries": {"x-ms-api-version": CONNECTOR_ACI_API_VERSION},
            },
        }
    if mode == MANAGED_IDENTITY:
        target = cloud(cloud_name)
        uri = target.action_url(
            group_path(subscription_id, resource_group, container_group)
            + f"/start?api-version={ACI_API_VERSION}"
        )
        request = {
            "type": "Http",
            "runAfter": {},
            "inputs": {
                "method": "POST",
                "uri": uri,
                "authentication": {
                    "type": "ManagedServiceIdentity",
                    "audience": target.msi_audience,
                },
            },
        }
        return {
            "type": "Until",
            "runAfter": after,
            "expression": f"@not(equals(outputs('{START_REQUEST}')?['statusCode'], 403))",
            "limit": {"count": ROLE_RETRY_COUNT, "timeout": ROLE_RETRY_TIMEOUT},
            "actions": {
                START_REQUEST: request,
                ROLE_WAIT_ACTION: {
                    "type": "Wait",
                    "runAfter": {START_REQUEST: ["Failed"]},
                    "inputs": {"interval": {"count": ROLE_RETRY_MINUTES, "unit": "Minute"}},
                },
            },
        }
    raise ValueError(f"unknown trigger mode {mode!r}")


def start_call(definition_: dict[str, Any]) -> dict[str, Any]:
    """The action that calls start: the top-level start, or the ``Http`` inside its loop."""
    start: dict[str, Any] = definition_["actions"][START_ACTION]
    if start.get("type") == "Until":
        inner: dict[str, Any] = start["actions"][START_REQUEST]
        return inner
    return start


def definition(
    mode: str,
    subscription_id: str,
    resource_group: str,
    container_group: str,
    cloud_name: str = "",
) -> dict[str, Any]:
    """The workflow definition: Request trigger -> Response 200 -> start the group.

    Numerai expects a 200; a Request trigger alone answers 202, hence the Response, and
    it answers before the start so a slow image pull cannot time the answer out.
    """
    parameters: dict[str, Any] = {}
    if mode == API_CONNECTION:
        parameters = {"$connections": {"defaultValue": {}, "type": "Object"}}
    return {
        "$schema": DEFINITION_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "triggers": {
            TRIGGER_NAME: {
                "type": "Request",
                "kind": "Http",
                "inputs": {"method": "POST", "schema": copy.deepcopy(NUMERAI_PAYLOAD_SCHEMA)},
            }
        },
        "actions": {
            RESPONSE_ACTION: {
                "type": "Response",
                "kind": "Http",
                "runAfter": {},
                "inputs": {"statusCode": 200, "body": {"starting": container_group}},
            },
            START_ACTION: _start_action(
                mode, subscription_id, resource_group, container_group, cloud_name
            ),
        },
        "outputs": {},
    }


def workflow_parameters(
    mode: str, subscription_id: str, resource_group: str, location: str
) -> dict[str, Any]:
    """The workflow's ``parameters`` (only the connector mode has any)."""
    if mode == API_CONNECTION:
        return connections_parameter(subscription_id, resource_group, location)
    return {}


def _essence(definition_: dict[str, Any] | None) -> dict[str, Any]:
    """What decides behaviour: triggers, actions and declared parameters.

    ARM may add or reorder bookkeeping keys (contentVersion, outputs, $schema casing);
    those must not make an unchanged re-run look changed.
    """
    d = definition_ or {}
    return {
        "triggers": d.get("triggers") or {},
        "actions": d.get("actions") or {},
        "parameters": d.get("parameters") or {},
    }


def definition_differences(observed: dict[str, Any] | None, desired: dict[str, Any]) -> list[str]:
    """Human reasons why ``observed`` differs from ``desired`` (empty: the same)."""
    have, want = _essence(observed), _essence(desired)
    reasons: list[str] = []
    if have["triggers"] != want["triggers"]:
        reasons.append("the request trigger differs")
    have_start = (
        (have["actions"].get(START_ACTION) or {}) if isinstance(have["actions"], dict) else {}
    )
    want_start = want["actions"][START_ACTION]
    if have_start.get("type") != want_start["type"]:
        was = have_start.get("type") or "missing"
        if (was, want_start["type"]) == ("Http", "Until"):
            reasons.append("retry the start while a new role assignment takes effect")
        else:
            reasons.append(f"start action {was} -> {want_start['type']}")
    elif {k: v for k, v in have_start.items() if k != "runAfter"} != {
        k: v for k, v in want_start.items() if k != "runAfter"
    }:
        reasons.append("the start action targets a different container group or API")
    elif have_start.get("runAfter") != want_start.get("runAfter"):
        if RESPONSE_ACTION in (have_start.get("runAfter") or {}):
            reasons.append("start the container even when the answer to Numerai fails")
        else:
            reasons.append("answer Numerai first, then start the container")
    if have["actions"] != want["actions"] and not reasons:
        reasons.append("the actions differ")
    if have["parameters"] != want["parameters"] and not reasons:
        reasons.append("the workflow parameters differ")
    return reasons


def connections_differ(observed: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    """Whether the ``$connections`` binding points elsewhere (ids compared case-insensitively)."""

    def ids(params: dict[str, Any] | None) -> dict[str, str]:
        value = ((params or {}).get("$connections") or {}).get("value") or {}
        return {k: str((v or {}).get("connectionId", "")).lower() for k, v in value.items()}

    return ids(observed) != ids(desired)
