"""Resource providers: registered up front, in a bounded wait the user can cancel.

A fresh subscription often has Microsoft.ContainerInstance, Microsoft.Logic or
Microsoft.Web not registered; ARM then answers the first create with 409
``MissingSubscriptionRegistration``. azure-mgmt-core would register the provider itself
and poll every 10 s with no upper bound (Cancel cannot stop it), and when the account may
not register providers it hands back the 409, which reads like a name conflict. So the
tool registers what the deploy needs before its first write, polls with progress within
:data:`REGISTER_TIMEOUT`, honours cancel, and stops at once with the providers and the
owner's command when registration is refused; and :class:`NoAutoRegistration` keeps the
SDK's own loop from ever starting (the 409 becomes :class:`ProviderNotRegistered`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..events import Emit, ErrorCode, LogLine, Progress, WizardError, check_cancel, ignore

CONTAINER_INSTANCE = "Microsoft.ContainerInstance"
LOGIC = "Microsoft.Logic"
WEB = "Microsoft.Web"
#: (memory GB, CPU) every region offers a Linux group: the limits to judge by while the
#: subscription has not registered Microsoft.ContainerInstance (its capabilities unreadable).
STANDARD_LIMITS = (16.0, 4.0)
REGISTER_TIMEOUT = 600.0  # seconds; registration usually takes one to a few minutes
_NAMESPACE_RE = re.compile(r"namespace '([^']+)'")


def needed(trigger: str) -> tuple[str, ...]:
    """The providers a deploy writes to: the container group, the workflow and, in
    api-connection mode, the Microsoft.Web connection."""
    base = (CONTAINER_INSTANCE, LOGIC)
    return (*base, WEB) if trigger == "api-connection" else base


def register_commands(namespaces: Sequence[str]) -> str:
    return ", then ".join(f"az provider register --namespace {ns}" for ns in namespaces)


class ProviderNotRegistered(Exception):
    """ARM's 409 MissingSubscriptionRegistration, raised before the SDK's unbounded loop."""

    def __init__(self, namespace: str, message: str) -> None:
        super().__init__(message)
        self.namespace = namespace
        self.message = message


def not_registered_error(namespace: str, message: str, what: str) -> WizardError:
    return WizardError(
        f"the subscription is not registered for {namespace or 'a resource provider'} ({what}): "
        f"{message}",
        "deploy registers the providers it needs before creating anything; if your account "
        "may not, ask an owner of the subscription to run: "
        + register_commands([namespace] if namespace else [CONTAINER_INSTANCE, LOGIC, WEB]),
        exit_code=2,
        code=ErrorCode.AZURE_PROVIDERS,
        upstream="MissingSubscriptionRegistration",
    )


def _no_auto_registration_policy() -> Any:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class NoAutoRegistration(SansIOHTTPPolicy):  # type: ignore[type-arg]
        """Sits after the retry policy, so it sees ARM's answer before azure-mgmt-core's
        auto-registration does, and turns MissingSubscriptionRegistration into
        :class:`ProviderNotRegistered` (not an AzureError: no retry policy retries it)."""

        def on_response(self, request: Any, response: Any) -> None:
            http = response.http_response
            if http.status_code != 409:
                return
            try:
                if hasattr(http, "read"):
                    http.read()  # not read yet at this depth of the pipeline: a 409 is small
                error = json.loads(http.text()).get("error") or {}
            except Exception:  # noqa: BLE001 - never let this check fail a request
                return
            if error.get("code") != "MissingSubscriptionRegistration":
                return
            message = str(error.get("message") or "")
            found = _NAMESPACE_RE.search(message)
            raise ProviderNotRegistered(found.group(1) if found else "", message)

    return NoAutoRegistration()


def no_auto_registration() -> Any:
    """The pipeline policy for ``per_retry_policies`` of every management client."""
    return _no_auto_registration_policy()


def ensure_registered(
    client: Any,
    namespaces: Sequence[str],
    *,
    subscription_id: str,
    emit: Emit = ignore,
    cancel: threading.Event | None = None,
    step: str = "providers",
    interval: float = 2.0,
    timeout: float = REGISTER_TIMEOUT,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Register those of ``namespaces`` that are not; wait until they are. Returns the
    ones it registered. ``client`` is a ResourceManagementClient."""
    from azure.core.exceptions import HttpResponseError

    missing = [
        ns
        for ns in namespaces
        if str(client.providers.get(ns).registration_state or "").lower() != "registered"
    ]
    if not missing:
        return []
    emit(
        LogLine(
            step,
            f"Registering the resource providers {', '.join(missing)} for this subscription "
            "(a one-time step for a new subscription; it takes a minute or a few)",
        )
    )
    refused: list[str] = []
    reason = ""
    for ns in missing:
        check_cancel(cancel)
        try:
            client.providers.register(ns)
        except HttpResponseError as exc:
            if getattr(exc, "status_code", None) not in (401, 403):
                raise
            refused.append(ns)
            reason = str(getattr(getattr(exc, "error", None), "message", "") or exc)
    if refused:
        raise WizardError(
            f"your account may not register the resource providers {', '.join(refused)} on "
            f"subscription {subscription_id}, and the deploy needs them: {reason.splitlines()[0]}",
            "ask an owner (or a Contributor) of the subscription to run: "
            + register_commands(refused)
            + " (or in the portal: Subscriptions > Resource providers > Register), then deploy "
            "again",
            exit_code=2,
            code=ErrorCode.AZURE_PROVIDERS,
            upstream="AuthorizationFailed",
        )
    started = clock()
    pending = list(missing)
    while pending:
        pending = [
            ns
            for ns in pending
            if str(client.providers.get(ns).registration_state or "").lower() != "registered"
        ]
        if not pending:
            break
        elapsed = clock() - started
        if elapsed >= timeout:
            raise WizardError(
                f"the resource providers {', '.join(pending)} are still registering after "
                f"{int(timeout)} s",
                "Azure is slow to finish it; check with `az provider show --namespace "
                f"{pending[0]} --query registrationState` and deploy again once it says "
                "Registered",
                code=ErrorCode.AZURE_PROVIDERS,
                upstream="RegistrationTimedOut",
            )
        emit(Progress(step, int(elapsed), int(timeout), "s", f"registering {', '.join(pending)}"))
        if cancel is not None:
            if cancel.wait(interval):
                check_cancel(cancel)
        elif interval > 0:
            time.sleep(interval)
    emit(LogLine(step, f"Registered {', '.join(missing)}"))
    return missing
