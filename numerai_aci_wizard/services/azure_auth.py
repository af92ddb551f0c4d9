"""Azure sign-in with explicit credentials: reuse ``az login``, else a device code.

Not DefaultAzureCredential: it probes the instance metadata endpoint (slow, confusing
off Azure) and hides which way the user signed in. The device-code flow keeps its
tokens in a persistent cache and saves an AuthenticationRecord under the user state
dir, so the next run signs in silently. azure-identity is imported only here, inside
the functions, so the wizard starts fast.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..clouds import CLOUD_NAMES
from ..clouds import cloud as cloud_named
from ..dirs import APP_NAME
from ..engines import AzureSession, DeviceCodePrompt
from ..events import Cancelled, ErrorCode, WizardError, check_cancel
from ..netreason import network_reason

#: The public ARM audience: Azure Stack and local test servers accept the same token.
ARM_SCOPE = cloud_named().token_scope
#: Entra's answers when a personal Microsoft account signs in where only work or school
#: accounts may (the "organizations" endpoint azure-identity uses by default)
PERSONAL_ACCOUNT_CODES = ("AADSTS500200", "AADSTS50020")
#: a credential built for one tenant may still be asked for another's token: the
#: subscription picker lists every tenant's subscriptions
ANY_TENANT = ["*"]
RECORD_FILE = "azure-auth-record.json"


def persistent_cache_available() -> bool:
    """Whether tokens can be kept encrypted between runs (no libsecret on a headless Linux)."""
    try:
        from azure.identity import TokenCachePersistenceOptions
        from azure.identity._persistent_cache import _load_persistent_cache
    except ImportError:
        return False
    try:
        _load_persistent_cache(TokenCachePersistenceOptions(name=APP_NAME), False)
    except (ValueError, NotImplementedError, ImportError, OSError):
        return False
    except Exception:  # any other backend failure means the same: memory only
        return False
    return True


def record_path() -> Path:
    from ..dirs import state_dir

    return state_dir() / RECORD_FILE


def token_identity(token: str) -> tuple[str, str]:
    """(user, tenant) from an access token's JWT payload, for display only (not verified)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return "", ""
    user = next(
        (
            str(claims[k])
            for k in ("upn", "unique_name", "preferred_username", "email", "oid")
            if claims.get(k)
        ),
        "",
    )
    return user, str(claims.get("tid", ""))


#: what a child process (``az``) must not inherit: it needs none of them, and a CLI
#: extension or a debug dump could leak what it holds
CHILD_SECRET_ENV = ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "DOCKER_PASSWORD")
_environ_lock = threading.Lock()


@contextmanager
def secrets_out_of_environ() -> Iterator[None]:
    """Take the secret variables out of ``os.environ`` while a child process starts.

    azure-identity starts ``az`` with a copy of ``os.environ`` and offers no way to pass
    another environment, so the secrets leave it for the call and come back after. The
    tool itself read them before any sign-in (secrets.resolve), and calls are serialized.
    """
    with _environ_lock:
        saved = {k: os.environ.pop(k) for k in CHILD_SECRET_ENV if k in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


class ScrubbedCliCredential:
    """AzureCliCredential whose ``az`` child processes never see the Numerai keys or the
    registry password."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with secrets_out_of_environ():
            return self._inner.get_token(*scopes, **kwargs)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def az_executable(windows: bool = sys.platform == "win32") -> str | None:
    """The Azure CLI on PATH: ``az.cmd`` on Windows (what its installer puts there; an
    extensionless ``az`` beside it is a POSIX script Windows cannot start), else ``az``."""
    if windows:
        return shutil.which("az.cmd") or shutil.which("az")
    return shutil.which("az")


def az_cloud() -> str | None:
    """The cloud ``az`` is set to (``az cloud show``); None when there is no ``az`` to ask."""
    az = az_executable()
    if az is None:
        return None
    try:
        with secrets_out_of_environ():
            shown = subprocess.run(
                [az, "cloud", "show", "--output", "json"],
                stdin=subprocess.DEVNULL,  # never the wizard's terminal: az must not read it
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        name = json.loads(shown.stdout).get("name") if shown.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError, AttributeError):
        return None
    return str(name) if name else None


def _cloud_mismatch(wanted: str) -> WizardError | None:
    """az is signed in, but to another cloud than the settings name: say so, never switch."""
    active = az_cloud()
    if active is None or active.lower() == wanted.lower():
        return None
    if active.lower() in (name.lower() for name in CLOUD_NAMES):
        hint = (
            f'set cloud = "{active}" under [azure] in the settings (or --cloud {active}), or '
            f"switch az back: az cloud set --name {wanted}, then az login"
        )
    else:
        hint = (
            f"this tool works with {', '.join(CLOUD_NAMES)}: "
            f"az cloud set --name {wanted}, then az login"
        )
    return WizardError(
        f"az is set to the {active} cloud but the settings name {wanted}: its sign-in "
        f"cannot reach {wanted}",
        hint,
        code=ErrorCode.BAD_SETTINGS,
        field="azure.cloud",
    )


def _try_azure_cli(
    cancel: threading.Event | None,
    tenant_id: str = "",
    scope: str = ARM_SCOPE,
    cloud: str = "AzureCloud",
) -> AzureSession | None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import AzureCliCredential, CredentialUnavailableError

    check_cancel(cancel)
    credential = ScrubbedCliCredential(
        AzureCliCredential(
            process_timeout=30, tenant_id=tenant_id, additionally_allowed_tenants=ANY_TENANT
        )
    )
    try:
        token = credential.get_token(scope)
    except CredentialUnavailableError:
        return None
    except ClientAuthenticationError:
        # signed in, but refused: another cloud is the likely cause, and worth naming
        mismatch = _cloud_mismatch(cloud)
        if mismatch is not None:
            raise mismatch from None
        return None
    user, tenant = token_identity(token.token)
    return AzureSession(
        credential=credential, user=user or "az login user", tenant_id=tenant, method="azure-cli"
    )


def _load_record() -> Any | None:
    from azure.identity import AuthenticationRecord

    path = record_path()
    try:
        return AuthenticationRecord.deserialize(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_record(record: Any) -> None:
    path = record_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(record.serialize(), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    except OSError:
        pass  # only costs a prompt next time


def _device_credential(
    prompt: DeviceCodePrompt | None,
    authority: str | None,
    record: Any | None,
    persistent: bool,
    tenant_id: str = "",
) -> Any:
    from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

    kwargs: dict[str, Any] = {
        "prompt_callback": prompt,
        "timeout": 900,
        "additionally_allowed_tenants": ANY_TENANT,
    }
    if record is None:
        # "organizations" (work or school accounts) unless the user named a directory:
        # a personal Microsoft account signs in only at a tenant id
        kwargs["tenant_id"] = tenant_id or "organizations"
    if persistent:
        kwargs["cache_persistence_options"] = TokenCachePersistenceOptions(name=APP_NAME)
    if record is not None:
        kwargs["authentication_record"] = record  # the record carries its authority
    elif authority:
        kwargs["authority"] = authority
    if authority:
        kwargs["disable_instance_discovery"] = True
    return DeviceCodeCredential(**kwargs)


def _in_thread(fn: Callable[[], Any], cancel: threading.Event | None) -> Any:
    """Run a blocking sign-in so a cancel returns at once (the thread ends by its timeout)."""
    if cancel is None:
        return fn()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="azure-sign-in", daemon=True)
    thread.start()
    while thread.is_alive():
        if cancel.wait(0.1):
            raise Cancelled()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _not_signed_in() -> WizardError:
    return WizardError(
        "not signed in to Azure",
        "run `az login` (Azure CLI) and retry, or run the wizard to sign in with a device code",
        exit_code=2,
        code=ErrorCode.AZURE_SIGN_IN,
        upstream="NotSignedIn",
    )


def _personal_account_refused(exc: BaseException | None) -> WizardError:
    return WizardError(
        "a personal Microsoft account (outlook.com, hotmail.com, live.com) cannot use the "
        "work-or-school sign-in: it signs in only at the directory (tenant) of your Azure "
        "subscription"
        if exc is None
        else "Azure refused this account at the work-or-school sign-in: it is a personal "
        "Microsoft account (outlook.com, hotmail.com, live.com)",
        "set the tenant (directory) id of your Azure subscription: --tenant <id>, "
        "AZURE_TENANT_ID or [azure] tenant_id (portal > Microsoft Entra ID > Overview > "
        "Tenant ID; `az account show` prints it as tenantId), then sign in again",
        exit_code=2,
        code=ErrorCode.AZURE_SIGN_IN,
        upstream="PersonalAccountNeedsTenant",
    )


def _device_code(
    prompt: DeviceCodePrompt | None,
    authority: str | None,
    cancel: threading.Event | None,
    interactive: bool,
    tenant_id: str = "",
    scope: str = ARM_SCOPE,
) -> AzureSession:
    from azure.core.exceptions import ClientAuthenticationError

    # Without an encrypted cache (no libsecret on a headless Linux) the tokens live in
    # memory only: a saved record cannot sign in silently, so do not pretend it can.
    persistent = persistent_cache_available()
    record = _load_record() if persistent else None
    if record is None and not interactive:
        raise _not_signed_in()
    try:
        if record is not None:
            credential = _device_credential(prompt, authority, record, persistent, tenant_id)
            try:  # silent: the cached refresh token is enough
                _in_thread(lambda: credential.get_token(scope), cancel)
                return AzureSession(
                    credential, record.username, record.tenant_id, "device-code", True
                )
            except ClientAuthenticationError:
                if not interactive:
                    raise _not_signed_in() from None
        credential = _device_credential(prompt, authority, None, persistent, tenant_id)
        new_record = _in_thread(lambda: credential.authenticate(scopes=[scope]), cancel)
    except ClientAuthenticationError as exc:
        text = str(exc.message or exc)
        if not tenant_id and any(code in text for code in PERSONAL_ACCOUNT_CODES):
            raise _personal_account_refused(exc) from exc
        offline = network_reason(text)
        if offline:
            raise WizardError(
                f"Azure sign-in failed: {offline}",
                "check the network connection (and a proxy, if you use one), then sign in again",
                exit_code=2,
                code=ErrorCode.AZURE_UNREACHABLE,
                upstream="NetworkError",
            ) from exc
        raise WizardError(
            f"Azure sign-in failed: {exc.message or exc}",
            "sign in again (a code is valid for 15 minutes), or run `az login` and retry",
            exit_code=2,
            code=ErrorCode.AZURE_SIGN_IN,
            upstream="AuthenticationFailed",
        ) from exc
    _save_record(new_record)
    return AzureSession(
        credential, new_record.username, new_record.tenant_id, "device-code", persistent
    )


def sign_in(
    *,
    on_device_code: DeviceCodePrompt | None = None,
    allow_device_code: bool = True,
    authority: str | None = None,
    cancel: threading.Event | None = None,
    tenant_id: str = "",
    cloud: str = "",
    personal_account: bool = False,
) -> AzureSession:
    """An Azure session: ``az login`` when it works, else a device code (or a saved record).

    ``personal_account``: a personal Microsoft account (outlook.com, hotmail.com, live.com)
    cannot sign in at "organizations": Entra shows the refusal in the browser while the
    client keeps polling until the code expires (15 minutes). So without a tenant id such
    an account is refused here at once, before any code is asked for.

    ``on_device_code(verification_uri, user_code, expires_on)`` runs on the signing-in
    thread; the UI shows the code. Headless callers pass ``allow_device_code=False``:
    a saved device-code sign-in is still used silently, but nobody is prompted.
    ``tenant_id`` (the settings' ``azure.tenant_id``) is the directory to sign in to;
    empty: az's default, or "organizations" for a device code. Either credential can
    still fetch a token for any other tenant of the user (``get_token(tenant_id=...)``),
    which is how subscriptions of every tenant are listed and used.
    """
    target = cloud_named(cloud)
    session = _try_azure_cli(cancel, tenant_id, target.token_scope, target.name)
    if session is None and personal_account and not tenant_id.strip() and allow_device_code:
        raise _personal_account_refused(None)
    if session is not None:
        return session
    if authority is None and target.authority_host != cloud_named().authority_host:
        authority = target.authority_host
    return _device_code(
        on_device_code,
        authority,
        cancel,
        interactive=allow_device_code,
        tenant_id=tenant_id,
        scope=target.token_scope,
    )
