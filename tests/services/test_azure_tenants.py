"""Users with several Azure directories, and personal Microsoft accounts.

A common case: az's default subscription lives in an employer's tenant and the user's own
pay-as-you-go subscription in a personal directory. ARM answers a token of the wrong tenant
with 401 InvalidAuthenticationTokenTenant and lists only the token's tenant's subscriptions;
the local ARM server does the same, and the fake `az` issues per-tenant tokens like az.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.services.azure_auth import sign_in
from numerai_aci_wizard.services.azure_provision import Azure
from numerai_aci_wizard.settings import Secrets, Settings

HOME_TENANT = "00000000-0000-0000-0000-0000000000aa"
OTHER_TENANT = "22222222-0000-0000-0000-0000000000bb"
OTHER_SUB = "22222222-0000-0000-0000-000000000002"
SECRETS = Secrets("A" * 32, "B" * 64, "hub-password-1")


@pytest.fixture
def two_tenants(arm_server: Any, az_cli_login: Any) -> Any:
    """The user is in two directories; the second holds their own subscription."""
    arm_server.tenants.append(
        {
            "tenantId": OTHER_TENANT,
            "displayName": "Ada's own directory",
            "defaultDomain": "adaown.onmicrosoft.com",
        }
    )
    arm_server.subscriptions.append(
        {
            "subscriptionId": OTHER_SUB,
            "displayName": "Pay-As-You-Go",
            "state": "Enabled",
            "tenantId": OTHER_TENANT,
        }
    )
    az_cli_login.add_tenant(OTHER_TENANT, OTHER_SUB)
    return arm_server


def _settings(server: Any, subscription: str, **azure: Any) -> Settings:
    s = Settings()
    s.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    s.azure.subscription_id = subscription
    s.azure.location = "eastus"
    s.azure.arm_endpoint = server.endpoint
    s.docker.image = "myuser/numerai-predict:latest"
    s.docker.username = "myuser"
    for key, value in azure.items():
        setattr(s.azure, key, value)
    return s


def test_arm_refuses_a_token_of_another_tenant_and_lists_only_its_own(
    two_tenants: Any, az_cli_login: Any
) -> None:
    headers = {"Authorization": f"Bearer {az_cli_login.token}"}  # a home-tenant token
    base = two_tenants.endpoint
    wrong = requests.get(
        f"{base}/subscriptions/{OTHER_SUB}/resourcegroups?api-version=2025-04-01",
        headers=headers,
        verify=two_tenants.ca_path,
        timeout=10,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"
    assert f"login.windows.net/{OTHER_TENANT}" in wrong.headers["WWW-Authenticate"]
    listed = requests.get(
        f"{base}/subscriptions?api-version=2022-12-01",
        headers=headers,
        verify=two_tenants.ca_path,
        timeout=10,
    ).json()["value"]
    assert [s["subscriptionId"] for s in listed] == [two_tenants.subscription_id]
    tenants = requests.get(
        f"{base}/tenants?api-version=2022-12-01",
        headers=headers,
        verify=two_tenants.ca_path,
        timeout=10,
    ).json()["value"]
    assert {t["tenantId"] for t in tenants} == {HOME_TENANT, OTHER_TENANT}


def test_the_picker_lists_subscriptions_of_every_tenant_with_its_name(two_tenants: Any) -> None:
    credential = sign_in(allow_device_code=False).credential
    azure = Azure(_settings(two_tenants, ""), credential, polling_interval=0)
    subs = {s.id: s for s in azure.list_subscriptions()}
    assert set(subs) == {two_tenants.subscription_id, OTHER_SUB}
    assert subs[OTHER_SUB].tenant_id == OTHER_TENANT
    assert subs[OTHER_SUB].tenant_name == "Ada's own directory"
    assert subs[two_tenants.subscription_id].tenant_name == "Numerai Test Tenant"


def test_deploy_to_a_subscription_in_another_tenant_than_az_default(
    two_tenants: Any, az_cli_login: Any
) -> None:
    credential = sign_in(allow_device_code=False).credential
    result = Azure(_settings(two_tenants, OTHER_SUB), credential, polling_interval=0).apply(SECRETS)
    assert "sig=" in result.webhook_url
    assert any(
        r.path.startswith(f"/subscriptions/{OTHER_SUB}/resourceGroups") and r.status in (200, 201)
        for r in two_tenants.requests
    )
    assert any("--tenant" in c and OTHER_TENANT in c for c in az_cli_login.calls())


def test_a_token_for_the_wrong_tenant_is_explained_not_called_expired(two_tenants: Any) -> None:
    credential = sign_in(allow_device_code=False).credential
    settings = _settings(two_tenants, OTHER_SUB, tenant_id=HOME_TENANT)  # set, but wrong
    with pytest.raises(WizardError) as info:
        Azure(settings, credential, polling_interval=0).observe()
    err = info.value
    assert err.upstream == "InvalidAuthenticationTokenTenant" and err.exit_code == 2
    assert "expired" not in err.message
    assert "wrong tenant" in err.hint and OTHER_TENANT in err.hint


def test_a_personal_account_at_organizations_would_wait_for_the_code_to_expire(
    entra_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The trap, as Entra behaves: the browser shows the refusal, the client only ever
    hears authorization_pending (until the code expires, 15 minutes later)."""
    import threading

    from numerai_aci_wizard.events import Cancelled

    monkeypatch.setenv("PATH", str(tmp_path))  # no az: the device code is the only way
    entra_server.personal_account = True
    entra_server.auto_approve = False
    entra_server.interval = 0
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            sign_in(on_device_code=lambda *a: None, authority=entra_server.authority, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    code = entra_server.wait_for_code()
    entra_server.approve()  # the user signs in in the browser ...
    assert entra_server.refused_in_browser == [code]  # ... which refuses the account
    polls = len(entra_server.requests)
    entra_server.wait_for_poll()
    deadline = time.monotonic() + 5
    while len(entra_server.requests) < polls + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(entra_server.requests) >= polls + 3  # still polling, still "pending"
    cancel.set()
    worker.join(timeout=10)
    assert outcome and isinstance(outcome[0], Cancelled)
    # azure-identity's own thread polls on after a cancel: end it, so no test sees it
    entra_server.decline()
    seen = -1
    while seen != len(entra_server.requests):
        seen = len(entra_server.requests)
        time.sleep(0.2)


def test_a_personal_account_is_asked_for_the_tenant_before_any_code(
    entra_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    entra_server.personal_account = True
    with pytest.raises(WizardError) as info:
        sign_in(
            on_device_code=lambda *a: None, authority=entra_server.authority, personal_account=True
        )
    assert info.value.upstream == "PersonalAccountNeedsTenant" and info.value.exit_code == 2
    assert "personal Microsoft account" in info.value.message
    assert "--tenant" in info.value.hint
    assert entra_server.requests == []  # refused here at once: no code, no wait
    session = sign_in(
        on_device_code=lambda *a: None,
        authority=entra_server.authority,
        tenant_id=entra_server.tenant_id,
        personal_account=True,
    )
    assert session.method == "device-code" and session.tenant_id == entra_server.tenant_id
    token_paths = [r.path for r in entra_server.requests if r.path.endswith("/token")]
    assert token_paths and all(p.startswith(f"/{entra_server.tenant_id}/") for p in token_paths)


# --- az set to another cloud -----------------------------------------------------------


def test_az_set_to_another_cloud_is_named_not_taken_for_no_sign_in(az_cli_login: Any) -> None:
    az_cli_login.set_cloud("AzureUSGovernment")
    with pytest.raises(WizardError) as info:
        sign_in(allow_device_code=False)  # the settings' cloud: the default, AzureCloud
    err = info.value
    assert err.code == ErrorCode.BAD_SETTINGS and err.exit_code == 2 and err.field == "azure.cloud"
    assert "AzureUSGovernment" in err.message and "AzureCloud" in err.message
    assert "--cloud AzureUSGovernment" in err.hint and "az cloud set --name AzureCloud" in err.hint
    # the tool did not switch clouds by itself: it asked az which one, nothing else
    assert [c[:2] for c in az_cli_login.calls()][-1] == ["cloud", "show"]


def test_the_same_cloud_in_the_settings_signs_in_with_az(az_cli_login: Any) -> None:
    az_cli_login.set_cloud("AzureUSGovernment")
    session = sign_in(allow_device_code=False, cloud="AzureUSGovernment")
    assert session.method == "azure-cli"
    resources = [c[c.index("--resource") + 1] for c in az_cli_login.calls() if "--resource" in c]
    assert resources and all("usgovcloudapi.net" in r for r in resources)


def test_a_cloud_the_tool_does_not_know_names_the_ones_it_does(az_cli_login: Any) -> None:
    az_cli_login.set_cloud("MyAzureStack")  # az cloud register'ed: not one this tool serves
    with pytest.raises(WizardError) as info:
        sign_in(allow_device_code=False)
    assert "MyAzureStack" in info.value.message
    assert "AzureCloud, AzureUSGovernment, AzureChinaCloud" in info.value.hint
    assert "--cloud" not in info.value.hint


def test_signed_out_az_is_still_just_not_signed_in(az_cli_login: Any, tmp_path: Any) -> None:
    az_cli_login.set_cloud("AzureUSGovernment")
    az_cli_login.logout()
    with pytest.raises(WizardError) as info:
        sign_in(allow_device_code=False)
    assert info.value.code != ErrorCode.BAD_SETTINGS  # "sign in", not a cloud to fix
