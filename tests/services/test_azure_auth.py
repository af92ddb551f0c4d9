"""Sign-in as a user meets it: reuse `az login`, else a device code once, then silently."""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import datetime

import pytest

from numerai_aci_wizard.events import Cancelled, WizardError
from numerai_aci_wizard.services import azure_auth
from numerai_aci_wizard.services.azure_auth import record_path, sign_in, token_identity


def _jwt(claims: dict) -> str:
    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def test_token_identity_reads_user_and_tenant_for_display() -> None:
    assert token_identity(_jwt({"upn": "ada@example.com", "tid": "t-1"})) == (
        "ada@example.com",
        "t-1",
    )
    assert token_identity(_jwt({"oid": "o-1", "tid": "t-2"})) == ("o-1", "t-2")
    assert token_identity("not-a-jwt") == ("", "")


def test_headless_without_az_login_exits_2_saying_run_az_login(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `az` at all
    with pytest.raises(WizardError) as info:
        sign_in(allow_device_code=False)
    assert info.value.exit_code == 2
    assert "az login" in info.value.hint


def test_az_login_is_reused_and_shows_who(az_cli_login) -> None:  # noqa: ANN001
    session = sign_in(allow_device_code=False)
    assert session.method == "azure-cli"
    assert session.user and session.tenant_id
    token = session.credential.get_token(azure_auth.ARM_SCOPE)
    assert token.token


def test_after_az_logout_headless_fails_with_exit_2(az_cli_login) -> None:  # noqa: ANN001
    az_cli_login.logout()
    with pytest.raises(WizardError) as info:
        sign_in(allow_device_code=False)
    assert info.value.exit_code == 2


def test_device_code_once_then_silent_when_tokens_can_be_kept(
    entra_server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no az: the device code is the only way
    prompts: list[tuple] = []
    session = sign_in(
        on_device_code=lambda uri, code, expires: prompts.append((uri, code, expires)),
        authority=entra_server.authority,
    )
    assert session.method == "device-code"
    assert len(prompts) == 1
    uri, code, expires = prompts[0]
    assert uri.startswith("https://") and code and isinstance(expires, datetime)
    assert session.user == "tester@example.com" and session.tenant_id
    assert record_path().is_file()
    assert session.credential.get_token(azure_auth.ARM_SCOPE).token
    assert session.remembered == azure_auth.persistent_cache_available()

    if session.remembered:  # an encrypted token cache exists: the next run asks nothing
        again = sign_in(
            on_device_code=lambda *a: prompts.append(a),
            authority=entra_server.authority,
            allow_device_code=False,
        )
        assert len(prompts) == 1, "the second run must not prompt"
        assert (again.user, again.tenant_id) == (session.user, session.tenant_id)
    else:  # memory only (no libsecret): headless says so instead of hanging on a prompt
        with pytest.raises(WizardError) as info:
            sign_in(authority=entra_server.authority, allow_device_code=False)
        assert info.value.exit_code == 2 and "az login" in info.value.hint
        assert len(prompts) == 1


def test_cancel_stops_waiting_for_the_device_code(
    entra_server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,  # noqa: ANN001
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    if hasattr(entra_server, "auto_approve"):
        entra_server.auto_approve = False
    cancel = threading.Event()
    shown = threading.Event()

    def on_code(uri: str, code: str, expires: datetime) -> None:
        shown.set()
        cancel.set()  # the user pressed Escape while the code was on screen

    with pytest.raises(Cancelled):
        sign_in(on_device_code=on_code, authority=entra_server.authority, cancel=cancel)
    assert shown.is_set()


def test_az_child_processes_get_no_numerai_keys_or_registry_password(
    az_cli_login, monkeypatch
) -> None:  # noqa: ANN001
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "P" * 32)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "S" * 64)
    monkeypatch.setenv("DOCKER_PASSWORD", "registry-password-1")
    monkeypatch.setenv("SOMETHING_ELSE", "kept")
    session = sign_in(allow_device_code=False)
    session.credential.get_token("https://management.azure.com/.default", tenant_id="")
    seen = az_cli_login.env_names()
    assert seen, "az was never run"
    for names in seen:
        assert not {"NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "DOCKER_PASSWORD"} & set(names)
        assert "SOMETHING_ELSE" in names and "PATH" in names
    # and this process still has them
    assert os.environ["NUMERAI_SECRET_KEY"] == "S" * 64
