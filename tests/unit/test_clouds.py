"""One cloud setting decides every endpoint that differs between Azure clouds."""

from __future__ import annotations

from numerai_aci_wizard import clouds
from numerai_aci_wizard import workflow as lw
from numerai_aci_wizard.plan import Observed, compute_plan
from numerai_aci_wizard.settings import Settings

SUB = "00000000-0000-0000-0000-000000000001"


def test_each_cloud_has_its_own_arm_scope_authority_and_portal() -> None:
    gov = clouds.cloud("AzureUSGovernment")
    assert gov.arm_endpoint == "https://management.usgovcloudapi.net"
    assert gov.token_scope == "https://management.usgovcloudapi.net/.default"
    assert gov.authority_host == "login.microsoftonline.us"
    assert gov.portal == "https://portal.azure.us"
    china = clouds.cloud("azurechinacloud")  # names are case-insensitive
    assert china.arm_endpoint == "https://management.chinacloudapi.cn"
    assert clouds.cloud("").name == "AzureCloud"
    assert len({c.arm_endpoint for c in clouds.CLOUDS.values()}) == 3


def test_the_managed_identity_action_calls_the_clouds_arm_whatever_the_base_url() -> None:
    action = lw.start_call(lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg", "AzureUSGovernment"))
    assert action["inputs"]["uri"].startswith(
        f"https://management.usgovcloudapi.net/subscriptions/{SUB}/resourceGroups/rg/"
    )
    assert action["inputs"]["authentication"]["audience"] == "https://management.usgovcloudapi.net/"
    public = lw.start_call(lw.definition(lw.MANAGED_IDENTITY, SUB, "rg", "cg"))
    assert public["inputs"]["uri"].startswith("https://management.azure.com/subscriptions/")


def test_settings_endpoint_follows_the_cloud_unless_overridden() -> None:
    s = Settings()
    s.azure.cloud = "AzureChinaCloud"
    assert s.azure.endpoint == "https://management.chinacloudapi.cn"
    s.azure.arm_endpoint = "https://127.0.0.1:8443/"
    assert s.azure.endpoint == "https://127.0.0.1:8443"


def test_a_workflow_deployed_for_one_cloud_is_unchanged_for_the_plan_of_the_same_cloud() -> None:
    from numerai_aci_wizard.plan import MANAGED_BY_TAG, MANAGED_BY_VALUE, ObservedWorkflow

    s = Settings()
    s.azure.subscription_id, s.azure.location = SUB, "usgovvirginia"
    s.azure.trigger, s.azure.cloud = lw.MANAGED_IDENTITY, "AzureUSGovernment"
    a = s.azure
    deployed = lw.definition(a.trigger, SUB, a.resource_group, a.container_group, a.cloud)
    wf = ObservedWorkflow(
        id="x",
        definition=deployed,
        parameters={},
        identity_type="SystemAssigned",
        tags={MANAGED_BY_TAG: MANAGED_BY_VALUE},  # ours: the plan may change it
    )
    plan = compute_plan(s, Observed(workflow=wf))
    assert plan.for_resource("workflow").action == "keep"
    s.azure.cloud = "AzureCloud"
    assert compute_plan(s, Observed(workflow=wf)).for_resource("workflow").action == "update"
