"""The Azure engine's plumbing: clients, tokens, errors and waits every part shares.

The engine is three parts, each a class on top of the one before: discovery (what
exists: tenants, subscriptions, regions, the deployment's resources), runtime (what
runs: the connection's status, the webhook's runs, the container's state and logs) and
provisioning (plan, apply, destroy), whose class ``Azure`` is the whole engine.

Every client points at ``settings.azure.endpoint`` (a local ARM stand-in in tests),
polls LROs every ``polling_interval`` seconds (the SDK's 30 s default looks frozen;
a server's Retry-After still wins) and retries 429/5xx a bounded number of times.
azure-* is imported inside the methods: the wizard starts without it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import workflow as lw
from ..clouds import cloud
from ..engines import (
    Tenant,
)
from ..events import (
    Cancelled,
    Emit,
    LogLine,
    Progress,
    WizardError,
    check_cancel,
    ignore,
)
from ..plan import (
    LINUX,
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    RESTART_NEVER,
    ObservedContainerGroup,
    Plan,
)
from ..settings import Settings
from . import arm_guard, azure_providers
from .azure_errors import translate

CONNECTION_API_VERSION = "2016-06-01"


def role_assignment_name(scope: str, principal_id: str) -> str:
    """Deterministic (uuid5): a re-run finds the assignment it made instead of adding one."""
    return str(
        uuid.uuid5(
            uuid.NAMESPACE_URL, f"{scope.lower()}|{principal_id}|{lw.PUBLIC_ARM}|aci-contributor"
        )
    )


def _text(value: Any) -> str:
    """An SDK enum or plain string as its wire value ("Enabled", not "SubscriptionState.ENABLED")."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _group_view(g: Any, name: str) -> ObservedContainerGroup:
    """The one mapping of an SDK ContainerGroup: plan and status both read this."""
    containers = g.containers or []
    first = containers[0] if containers else None
    req = first.resources.requests if first is not None and first.resources else None
    creds = g.image_registry_credentials or []
    env: dict[str, str | None] = {}
    for e in (first.environment_variables or []) if first is not None else []:
        env[e.name] = None if e.value is None else e.value
    return ObservedContainerGroup(
        name=g.name or name,
        location=g.location or "",
        image=first.image if first is not None else "",
        cpu=float(req.cpu) if req is not None and req.cpu is not None else 0.0,
        memory_gb=float(req.memory_in_gb)
        if req is not None and req.memory_in_gb is not None
        else 0.0,
        restart_policy=_text(g.restart_policy) or RESTART_NEVER,
        os_type=_text(g.os_type) or LINUX,
        container_name=first.name if first is not None else "",
        container_count=len(containers),
        registry_server=creds[0].server if creds else None,
        registry_username=creds[0].username if creds else None,
        env=env,
        provisioning_state=_text(g.provisioning_state),
        state=_ci_state(g),
        has_ip_address=g.ip_address is not None,
        tags=dict(g.tags or {}),
    )


def _ci_state(group: Any) -> str:
    view = getattr(group, "instance_view", None)
    return _text(getattr(view, "state", None)) if view is not None else ""


class _SharedToken:
    """One token for all five clients: `az account get-access-token` costs about a second
    per call, and each SDK client would otherwise ask for its own."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], Any] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if kwargs.get("claims"):  # a challenge: always ask again
            return self._credential.get_token(*scopes, **kwargs)
        key = (*scopes, str(kwargs.get("tenant_id") or ""), str(bool(kwargs.get("enable_cae"))))
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.expires_on - 300 < time.time():
                token = self._credential.get_token(*scopes, **kwargs)
                self._tokens[key] = token
            return token


class _TenantToken:
    """Tokens for one tenant: a subscription answers only to a token of its own directory
    (401 InvalidAuthenticationTokenTenant otherwise), and a user may have several."""

    def __init__(self, credential: Any, tenant_id: str) -> None:
        self._credential = credential
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if self.tenant_id and not kwargs.get("tenant_id"):
            kwargs["tenant_id"] = self.tenant_id
        return self._credential.get_token(*scopes, **kwargs)


class AzureBase:
    """One subscription + resource group as the settings name them: the shared plumbing."""

    def __init__(
        self,
        settings: Settings,
        credential: Any,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
        polling_interval: float = 1.0,
        tenant_id: str = "",
    ) -> None:
        self.settings = settings
        self.credential = (
            _SharedToken(credential) if hasattr(credential, "get_token") else credential
        )
        self.cancel = cancel
        self.polling_interval = polling_interval
        #: the subscription's tenant: given, set in the settings, or found on first use
        self.tenant_id = tenant_id or settings.azure.tenant_id.strip()
        self._bound: Any = None
        self._tenants: list[Tenant] | None = None
        self._emit_lock = threading.Lock()
        self._emit = emit
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._step_started: dict[str, float] = {}
        self._stop_failed = False

    # --- plumbing ---------------------------------------------------------------------

    def emit(self, event: Any) -> None:
        """Events may come from two worker threads at once: hand them over one at a time."""
        with self._emit_lock:
            self._emit(event)

    @property
    def endpoint(self) -> str:
        return self.settings.azure.endpoint

    @property
    def _a(self) -> Any:
        return self.settings.azure

    def _client_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.endpoint,
            "credential_scopes": [cloud(self._a.cloud).token_scope],
            "polling_interval": self.polling_interval,
            "retry_total": 5,
            "retry_connect": 1,
            "retry_read": 2,
            "retry_status": 4,
            "retry_backoff_factor": 0.3,
            "retry_backoff_max": 20,
            # MissingSubscriptionRegistration raises, instead of the SDK's unbounded loop
            "per_retry_policies": [azure_providers.no_auto_registration()],
        }

    #: issue 19's bounds (see services/arm_guard.py); tests lower them
    retry_after_cap: float = arm_guard.RETRY_AFTER_CAP
    request_timeout: float = arm_guard.REQUEST_TIMEOUT

    def _guards(self, credential: Any) -> dict[str, Any]:
        """The token only to the endpoint's host, Retry-After capped (and said), a timeout
        per request: what ARM's answers may make a client do is bounded."""
        return arm_guard.client_kwargs(
            credential,
            [cloud(self._a.cloud).token_scope],
            self.endpoint,
            lambda text: self.emit(LogLine("azure", text, "warning")),
            cap=self.retry_after_cap,
            timeout=self.request_timeout,
        )

    def _subscription_credential(self) -> Any:
        """The credential bound to the subscription's tenant: finding that tenant is
        discovery's (:class:`~.azure_discovery.AzureDiscovery` overrides this)."""
        raise NotImplementedError

    def _client(self, kind: str) -> Any:
        with self._clients_lock:
            if kind in self._clients:
                return self._clients[kind]
            sub = self._a.subscription_id
            kw = self._client_kwargs()
            cred = self._subscription_credential()
            kw.update(self._guards(cred))
            client: Any
            if kind == "resources":
                from azure.mgmt.resource.resources import ResourceManagementClient

                client = ResourceManagementClient(cred, sub, **kw)
            elif kind == "aci":
                from azure.mgmt.containerinstance import ContainerInstanceManagementClient

                client = ContainerInstanceManagementClient(cred, sub, **kw)
            elif kind == "logic":
                from azure.mgmt.logic import LogicManagementClient

                client = LogicManagementClient(cred, sub, **kw)
            elif kind == "authorization":
                from azure.mgmt.authorization import AuthorizationManagementClient

                client = AuthorizationManagementClient(cred, sub, **kw)
            elif kind == "subscriptions":
                from azure.mgmt.resource.subscriptions import SubscriptionClient

                client = SubscriptionClient(cred, **kw)
            else:  # pragma: no cover - programming error
                raise ValueError(kind)
            self._clients[kind] = client
            return client

    def _tags(self, had: dict[str, str] | None = None) -> dict[str, str]:
        """Tags of a resource the tool writes: what it had, the user's ``[tags]``, and the
        ownership tag last (it must stay: it is how the tool knows what is its own)."""
        return {**(had or {}), **self.settings.tags, MANAGED_BY_TAG: MANAGED_BY_VALUE}

    def _ensure_providers(self, plan: Plan) -> None:
        """Register the resource providers the plan writes to, before any write (a fresh
        subscription has them unregistered); bounded, cancellable, with progress."""
        writes = {"container_group", "workflow", "api_connection"}
        if not any(a.resource in writes and a.action != "keep" for a in plan.actions):
            return
        with self._errors("register the resource providers", "providers"):
            azure_providers.ensure_registered(
                self._client("resources"),
                azure_providers.needed(self._a.trigger),
                subscription_id=self._a.subscription_id,
                emit=self.emit,
                cancel=self.cancel,
                interval=self.polling_interval,
            )

    @contextmanager
    def _errors(self, what: str, step: str = "") -> Iterator[None]:
        try:
            yield
        except (WizardError, Cancelled):
            raise
        except Exception as exc:
            raise translate(
                exc, what, endpoint=self.endpoint, trigger=self._a.trigger, step=step
            ) from exc

    def _wait(self, poller: Any, step: str, what: str, *, cancellable: bool = True) -> Any:
        """Wait for an LRO, reporting progress and honouring cancel between polls.

        Progress counts seconds since the step started, so a recreate's delete and create
        make one rising count (Progress never goes backwards within a step).
        ``cancellable=False``: a resize's delete and create are one unit: a cancel waits
        until the group exists again (stopping in between would leave rounds nothing to start).
        """
        started = self._step_started.get(step, time.monotonic())
        last = -1
        while not poller.done():
            if cancellable:
                check_cancel(self.cancel)
            poller.wait(0.1)
            elapsed = int(time.monotonic() - started)
            if elapsed != last:
                last = elapsed
                self.emit(Progress(step, elapsed, 0, "s", f"{what}: {poller.status()}"))
        return poller.result()

    @property
    def _rg_scope(self) -> str:
        return f"/subscriptions/{self._a.subscription_id}/resourceGroups/{self._a.resource_group}"

    @property
    def _connection_id(self) -> str:
        return lw.connection_id(self._a.subscription_id, self._a.resource_group)
