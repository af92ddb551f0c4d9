"""Azure Policy denials and the user's own tags, against the ARM stand-in taught a "Require
a tag on resources" assignment that answers RequestDisallowedByPolicy in ARM's shape.

What a user would notice: the refusal names the policy assignment and says it is the
subscription's policy, not their rights; with the tag under [tags] every resource the
tool creates carries it (and the tool's ownership tag stays)."""

from __future__ import annotations

from typing import Any

import pytest

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.plan import MANAGED_BY_TAG, MANAGED_BY_VALUE
from numerai_aci_wizard.services.azure_errors import policy_assignments
from numerai_aci_wizard.services.azure_provision import Azure
from tests.support import ARM_SECRETS, arm_settings

ASSIGNMENT = "Every resource needs a cost center"


def test_a_policy_denial_names_the_assignment_not_missing_rights(
    arm_server: Any, credential: Any
) -> None:
    arm_server.required_tags = {"costcenter": ASSIGNMENT}
    with pytest.raises(WizardError) as caught:
        Azure(arm_settings(arm_server), credential, polling_interval=0).apply(ARM_SECRETS)
    error = caught.value
    assert (error.code, error.exit_code, error.upstream) == (
        "azure_policy",
        2,
        "RequestDisallowedByPolicy",
    )
    assert f"policy assignment '{ASSIGNMENT}' (/subscriptions/" in error.message
    assert "/providers/Microsoft.Authorization/policyAssignments/" in error.message
    assert "subscription's policy, not your account's rights" in error.message
    assert "Contributor" not in str(error)
    assert "[tags]" in error.hint
    assert not any(key.endswith("/resourcegroups/numerai-rg") for key in arm_server.resources)


@pytest.mark.parametrize("trigger", ["api-connection", "managed-identity"])
def test_the_users_tags_go_on_every_resource_and_satisfy_the_policy(
    arm_server: Any, credential: Any, trigger: str
) -> None:
    arm_server.required_tags = {"costcenter": ASSIGNMENT}
    settings = arm_settings(arm_server, trigger)
    settings.tags = {"costcenter": "4711", "owner": "ada"}
    Azure(settings, credential, polling_interval=0).apply(ARM_SECRETS)
    tagged = [
        body
        for rid, body in arm_server.resources.items()
        if "/roleassignments/" not in rid and isinstance(body.get("tags"), dict)
    ]
    kinds = {str(b.get("type", "")).lower() for b in tagged}
    assert {
        "microsoft.resources/resourcegroups",
        "microsoft.containerinstance/containergroups",
        "microsoft.logic/workflows",
    } <= kinds
    assert ("microsoft.web/connections" in kinds) == (trigger == "api-connection")
    for body in tagged:
        tags = body["tags"]
        assert tags["costcenter"] == "4711" and tags["owner"] == "ada", body.get("id")
        assert tags[MANAGED_BY_TAG] == MANAGED_BY_VALUE  # the ownership tag stays


def test_the_older_message_shape_still_names_the_policy() -> None:
    message = (
        "The resource action 'Microsoft.ContainerInstance/containerGroups/write' is disallowed "
        "by one or more policies. Policy identifier(s): '/subscriptions/1/providers/"
        "Microsoft.Authorization/policyDefinitions/regionPolicyDefinition'."
    )
    assert policy_assignments(message) == [
        ("", "/subscriptions/1/providers/Microsoft.Authorization/policyDefinitions/"
         "regionPolicyDefinition")
    ]  # fmt: skip
