"""Azure SDK exceptions -> WizardError with what failed, why, and what to do.

One table, so every call (observe, apply, status, logs, destroy) explains a refused
permission, a quota, a missing region or an inaccessible image the same way. Users are
often new to Azure: the hint names the role, the portal page or the flag to use.
"""

from __future__ import annotations

import re
from typing import Any

from ..events import ErrorCode, WizardError
from ..netreason import network_reason
from ..redact import redact

QUOTA_CODES = {
    "QuotaExceeded",
    "ContainerGroupQuotaReached",
    "StandardCoresQuotaExceeded",
    "OperationNotAllowed",
    "ResourceRequestsNotAvailable",
    "ResourceRequestsNotSupported",
    "ServiceUnavailable",
    "SkuNotAvailable",
    "InsufficientCapacity",
    "ZonalAllocationFailed",
}
LOCATION_CODES = {
    "NoRegisteredProviderFound",
    "LocationNotAvailableForResourceType",
    "LocationNotAvailableForResourceGroup",
    "UnsupportedLocation",
    "LocationRequired",
    "InvalidLocation",
}
IMAGE_CODES = {
    "InaccessibleImage",
    "ImageRegistryCredentialsInvalid",
    "InvalidImageRegistryCredential",
    "InvalidImageRegistryServer",
}
CONFLICT_CODES = {
    "Conflict",
    "ResourceExists",
    "ConflictingResourceName",
    "ContainerGroupNameAlreadyExists",
    "ResourceGroupBeingDeleted",
    "AnotherOperationInProgress",
}
AUTH_CODES = {"ExpiredAuthenticationToken", "InvalidAuthenticationToken", "AuthenticationFailed"}


def error_code(exc: BaseException) -> str:
    """The ARM error code of an HttpResponseError (``error.code``), or ''."""
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None) if err is not None else None
    if code:
        return str(code)
    match = re.search(r"\(([A-Za-z]+)\)", str(getattr(exc, "message", "") or exc))
    return match.group(1) if match else ""


def error_message(exc: BaseException) -> str:
    err = getattr(exc, "error", None)
    message = getattr(err, "message", None) if err is not None else None
    text = str(message or getattr(exc, "message", "") or exc)
    return text.splitlines()[0].strip() if text else type(exc).__name__


def status_code(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )


def translate(
    exc: BaseException, what: str, *, endpoint: str, trigger: str = "", step: str = ""
) -> WizardError:
    """A WizardError for ``exc`` raised while doing ``what`` (e.g. "create container group x").

    The message is redacted: an error may echo part of a request that held a secret.
    """
    err = _translate(exc, what, endpoint=endpoint, trigger=trigger, step=step)
    err.message = redact(err.message)
    err.args = (err.message,)
    return err


def _translate(
    exc: BaseException, what: str, *, endpoint: str, trigger: str = "", step: str = ""
) -> WizardError:
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if isinstance(exc, WizardError):
        return exc
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return WizardError(  # a server that accepted the request and went silent: bounded
            f"Azure Resource Manager at {endpoint} did not answer in time to {what} "
            "(each request waits a bounded time, and was tried again before giving up)",
            "Azure may be having trouble: run again in a few minutes; what was already "
            "created is kept",
            code=ErrorCode.AZURE_UNREACHABLE,
            upstream="Timeout",
        )
    from .azure_providers import ProviderNotRegistered, not_registered_error

    if isinstance(exc, ProviderNotRegistered):
        return not_registered_error(exc.namespace, exc.message, what)
    if isinstance(exc, HttpResponseError) and error_code(exc) == "InvalidAuthenticationTokenTenant":
        return _wrong_tenant(what, error_message(exc))
    if isinstance(exc, ClientAuthenticationError) and status_code(exc) in (401, None):
        return _signed_out(what, exc)
    if isinstance(exc, ServiceRequestError | ServiceResponseError) and not isinstance(
        exc, HttpResponseError
    ):
        return WizardError(
            f"cannot reach {endpoint} to {what}: {_short(exc)}",
            "check your network connection (and proxy, or --arm-endpoint) and run again; "
            "what was already created is kept",
            code=ErrorCode.AZURE_UNREACHABLE,
            upstream="NetworkError",
        )
    if not isinstance(exc, HttpResponseError):
        return WizardError(
            f"failed to {what}: {_short(exc)}", "run again; what was already created is kept"
        )
    code = error_code(exc)
    message = error_message(exc)
    status = status_code(exc)
    if code in AUTH_CODES or status == 401:
        return _signed_out(what, exc, upstream=code or "AuthenticationFailed")
    if code == "RequestDisallowedByPolicy":
        return _policy_denied(what, message, exc)
    if code == "AuthorizationFailed" or status == 403:
        return _forbidden(
            what, message, trigger=trigger, step=step, upstream=code or "AuthorizationFailed"
        )
    if code == "RegistryErrorResponse":
        return WizardError(
            f"the image registry failed while Azure pulled the image ({what}): {message}",
            "this is the registry's side, not your credentials: Docker Hub limits pulls (more "
            "for anonymous pulls: set docker.username so Azure pulls signed in), and registries "
            "answer 5xx during outages; wait a few minutes and run again",
            code=ErrorCode.AZURE_IMAGE_PULL,
            upstream=code,
        )
    if code in IMAGE_CODES:
        return WizardError(
            f"Azure cannot pull the image to {what}: {message}",
            "check the image name and tag, and that the registry username and password (or token) "
            "can pull it; a private image needs them",
            code=ErrorCode.AZURE_IMAGE_PULL,
            upstream=code,
        )
    if code in LOCATION_CODES or "not available in location" in message.lower():
        return WizardError(
            f"Azure Container Instances is not available for this request ({what}): {message}",
            "choose another region (the wizard lists only regions that offer Container Instances)",
            exit_code=2,
            code=ErrorCode.AZURE_REGION,
            upstream=code,
        )
    if (code in QUOTA_CODES or "quota" in message.lower()) and (status or 0) < 500:
        return WizardError(
            f"Azure has no room for this container group ({what}): {message}",
            "use less memory or CPU, try another region, or request a quota increase in the portal "
            "(Subscriptions > Usage + quotas)",
            code=ErrorCode.AZURE_QUOTA,
            upstream=code,
        )
    if code in CONFLICT_CODES or status == 409:
        return WizardError(
            f"name conflict or operation in progress ({what}): {message}",
            "wait a minute and run again, or choose another name if the resource belongs to someone else",
            code=ErrorCode.AZURE_CONFLICT,
            upstream=code or "Conflict",
        )
    if status == 429:
        return WizardError(
            f"Azure is throttling requests ({what}): {message}",
            "wait a few minutes and run again; what was already created is kept",
            code=ErrorCode.AZURE_THROTTLED,
            upstream=code or "TooManyRequests",
        )
    if status is not None and status >= 500:
        return WizardError(
            f"Azure answered {status} while trying to {what}: {message}",
            "this is usually temporary: run again in a few minutes; what was already created is kept",
            code=ErrorCode.AZURE_SERVER_ERROR,
            upstream=code or f"HTTP{status}",
        )
    if status == 404 or code in (
        "ResourceNotFound",
        "ResourceGroupNotFound",
        "SubscriptionNotFound",
    ):
        hint = "check the subscription id and that you are signed in to the right tenant"
        return WizardError(
            f"not found ({what}): {message}",
            hint,
            code=ErrorCode.AZURE_NOT_FOUND,
            upstream=code or "NotFound",
        )
    return WizardError(
        f"Azure refused to {what}: {message}" + (f" ({code})" if code else ""),
        "fix the setting it names and run again",
        code=ErrorCode.AZURE_REFUSED,
        upstream=code,
    )


def _short(exc: BaseException) -> str:
    """The first line of what the SDK said; a network failure in words, not urllib3's repr."""
    text = str(getattr(exc, "message", "") or exc)
    reason = network_reason(text)
    if reason:
        return reason
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _signed_out(what: str, exc: BaseException, upstream: str = "NotSignedIn") -> WizardError:
    return WizardError(
        f"Azure sign-in is missing or expired ({what}): {_short(exc)}",
        "run `az login` (or sign in again in the wizard) and retry",
        exit_code=2,
        code=ErrorCode.AZURE_SIGN_IN,
        upstream=upstream,
    )


def _wrong_tenant(what: str, message: str) -> WizardError:
    found = re.search(r"login\.windows\.net/([0-9A-Za-z.-]+)", message)
    tenant = found.group(1) if found else ""
    where = f" (tenant {tenant})" if tenant else ""
    return WizardError(
        f"the sign-in is for another Azure directory than this subscription's{where} ({what})",
        "you are signed in, but to the wrong tenant: set --tenant "
        + (tenant or "<the subscription's tenant id>")
        + " (or [azure] tenant_id), or run `az login --tenant "
        + (tenant or "<tenant id>")
        + "` and retry",
        exit_code=2,
        code=ErrorCode.AZURE_WRONG_TENANT,
        upstream="InvalidAuthenticationTokenTenant",
    )


def _forbidden(what: str, message: str, *, trigger: str, step: str, upstream: str) -> WizardError:
    action = re.search(r"perform action '([^']+)'", message)
    needed = action.group(1) if action else ""
    if step == "role_assignment" or needed.startswith("Microsoft.Authorization/"):
        hint = (
            "creating a role assignment needs Owner or User Access Administrator on the resource group; "
            "ask an owner, or use --trigger api-connection (one sign-in in the portal instead)"
        )
    else:
        hint = "you need Contributor on the subscription or the resource group (ask its owner)"
        if trigger == "managed-identity":
            hint += "; or use --trigger api-connection"
    detail = f" (missing permission {needed})" if needed else ""
    return WizardError(
        f"not allowed to {what}{detail}: {message}",
        hint,
        code=ErrorCode.AZURE_FORBIDDEN,
        upstream=upstream,
    )


_ASSIGNMENT_RE = re.compile(
    r'"policyAssignment"\s*:\s*\{\s*"name"\s*:\s*"([^"]*)"\s*,\s*"id"\s*:\s*"([^"]*)"'
)
_IDENTIFIERS_RE = re.compile(r"Policy identifier\(s\): '([^']+)'")


def policy_assignments(message: str, additional_info: Any = None) -> list[tuple[str, str]]:
    """(display name, id) of each policy assignment a RequestDisallowedByPolicy names.

    ARM's message holds them as JSON: "Resource 'x' was disallowed by policy. Policy
    identifiers: '[{"policyAssignment":{"name":"...","id":"..."},"policyDefinition":...}]'."
    Its ``additionalInfo`` (type PolicyViolation) names them too; an older message shape
    gives only "Policy identifier(s): '<id>'".
    """
    found = [(n, i) for n, i in _ASSIGNMENT_RE.findall(message.replace('\\"', '"'))]
    for item in additional_info or []:
        info = item.get("info") if isinstance(item, dict) else getattr(item, "info", None)
        if isinstance(info, dict) and info.get("policyAssignmentId"):
            pair = (
                str(info.get("policyAssignmentDisplayName") or info.get("policyAssignmentName")),
                str(info["policyAssignmentId"]),
            )
            if pair[1] not in {i for _, i in found}:
                found.append(pair)
    if not found:
        found = [("", i.strip()) for i in _IDENTIFIERS_RE.findall(message)]
    return found


def _policy_denied(what: str, message: str, exc: BaseException) -> WizardError:
    err = getattr(exc, "error", None)
    info = getattr(err, "additional_info", None) if err is not None else None
    assignments = policy_assignments(message, info)
    named = (
        "; ".join(f"'{name}' ({aid})" if name else aid for name, aid in assignments)
        or "(the error names none)"
    )
    first = next((n or aid.rsplit("/", 1)[-1] for n, aid in assignments), "")
    return WizardError(
        f"Azure Policy refused to {what}: the policy assignment {named} on this subscription "
        "denies it. This is the subscription's policy, not your account's rights.",
        "ask the subscription's owner what the policy requires"
        + (
            f" (`az policy assignment list --query \"[?displayName=='{first}']\"` shows it)"
            if first
            else ""
        )
        + "; if it requires tags, add them under [tags] in the settings (e.g. "
        'costcenter = "1234"): the tool puts them on every resource it creates; if it limits '
        "regions, choose an allowed location",
        exit_code=2,
        code=ErrorCode.AZURE_POLICY,
        upstream="RequestDisallowedByPolicy",
    )


def is_not_found(exc: BaseException) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(exc, ResourceNotFoundError) or status_code(exc) == 404


def describe(value: Any) -> str:
    return str(value) if value is not None else ""
