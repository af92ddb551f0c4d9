"""Provision, inspect and tear down the Azure side with the real SDK clients.

What CreateAciEnvironment.ps1 and its ARM templates did, but idempotent: ``observe``
reads what exists, :func:`numerai_aci_wizard.plan.compute_plan` decides, ``apply``
writes only what the plan says (an unchanged re-run makes no write at all). The
container group's long-running operation runs beside the connection -> workflow ->
role assignment chain, so a first deploy waits for one LRO, a resize for two.

Every client points at ``settings.azure.endpoint`` (a local ARM stand-in in tests),
polls LROs every ``polling_interval`` seconds (the SDK's 30 s default looks frozen;
a server's Retry-After still wins) and retries 429/5xx a bounded number of times.
azure-* is imported inside the methods: the wizard starts without it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from .. import redact
from .. import workflow as lw
from ..clouds import cloud
from ..engines import (
    ConnectionStatus,
    GroupStatus,
    Location,
    ProvisionResult,
    Subscription,
    Tenant,
    WorkflowRun,
)
from ..events import (
    Cancelled,
    Emit,
    ErrorCode,
    LogLine,
    Progress,
    Removed,
    StepFinished,
    WizardError,
    check_cancel,
    ignore,
    step,
)
from ..plan import (
    ADOPT_REASON,
    FINGERPRINT_TAG,
    LINUX,
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    RESTART_NEVER,
    STOP_LEFTOVER,
    Action,
    Observed,
    ObservedConnection,
    ObservedContainerGroup,
    ObservedResourceGroup,
    ObservedRoleAssignment,
    ObservedWorkflow,
    Plan,
    compute_plan,
    desired_group,
    foreign,
    model_ids_env,
    not_ours_error,
    reconcile,
    role_definition_id,
    secrets_fingerprint,
)
from ..settings import Secrets, Settings
from .azure_errors import error_code, is_not_found, translate

CONNECTION_API_VERSION = "2016-06-01"
ROLE_NAME = "Azure Container Instances Contributor Role"
#: destroy: how many times to read the resource group's contents while ARM's list still
#: shows what was just deleted
LIST_SETTLE_POLLS = 6
#: trigger: how long to retry a run refused because a new role assignment is not in effect
ROLE_WAIT_SECONDS = 300.0
#: a role assignment younger than this may still be propagating
ROLE_NEW_SECONDS = 1800.0
#: PrincipalNotFound: a new managed identity takes seconds to replicate to Entra ID.
PRINCIPAL_RETRIES = 12
UPDATE_REFUSED_CODES = {
    "InvalidContainerGroupUpdate",
    "ContainerGroupTransitioning",
    "ContainerGroupNotReady",
}


RUN_STATUS = {
    "running": "running",
    "waiting": "running",
    "paused": "running",
    "suspended": "running",
    "notspecified": "running",
    "succeeded": "succeeded",
    "skipped": "succeeded",
    "ignored": "succeeded",
}


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


class Azure:
    """One subscription + resource group as the settings name them."""

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
        }

    def _client(self, kind: str) -> Any:
        with self._clients_lock:
            if kind in self._clients:
                return self._clients[kind]
            sub = self._a.subscription_id
            kw = self._client_kwargs()
            cred = self._subscription_credential()
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

    # --- discovery --------------------------------------------------------------------

    def _tenant_client(self, tenant_id: str) -> Any:
        """A subscriptions client whose tokens are for ``tenant_id`` ("" = the sign-in's)."""
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        cred = _TenantToken(self.credential, tenant_id) if tenant_id else self.credential
        return SubscriptionClient(cred, **self._client_kwargs())

    def list_tenants(self) -> list[Tenant]:
        """Every directory the signed-in user belongs to (GET /tenants answers for all)."""
        if self._tenants is None:
            with self._errors("list your Azure directories (tenants)"):
                found = self._tenant_client("").tenants.list()
                self._tenants = [
                    Tenant(
                        t.tenant_id or "",
                        t.display_name or t.default_domain or t.tenant_id or "",
                        t.default_domain or "",
                    )
                    for t in found
                    if t.tenant_id
                ]
        return self._tenants

    def list_subscriptions(self) -> list[Subscription]:
        """Subscriptions of every tenant: ARM lists only the token's tenant's, so ask each."""
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

        tenants = self.list_tenants()
        several = len(tenants) > 1
        out: list[Subscription] = []
        seen: set[str] = set()
        for tenant in tenants or [Tenant("", "")]:
            with self._errors("list your subscriptions"):
                try:
                    subs = list(
                        self._tenant_client(tenant.id if several else "").subscriptions.list()
                    )
                except (ClientAuthenticationError, HttpResponseError):
                    if not several:
                        raise
                    continue  # a directory that wants another sign-in (MFA): the rest still count
            for s in subs:
                sid = s.subscription_id or ""
                if sid.lower() in seen:
                    continue
                seen.add(sid.lower())
                out.append(
                    Subscription(
                        id=sid,
                        name=s.display_name or "",
                        state=_text(s.state),
                        tenant_id=getattr(s, "tenant_id", "") or tenant.id,
                        tenant_name=tenant.name,
                    )
                )
        return out

    def _subscription_credential(self) -> Any:
        """The credential bound to the chosen subscription's tenant (found once, if not set)."""
        if self._bound is None:
            tenant = self.tenant_id
            if not tenant:
                tenants = self.list_tenants()
                if len(tenants) > 1:
                    wanted = self._a.subscription_id.lower()
                    tenant = next(
                        (s.tenant_id for s in self.list_subscriptions() if s.id.lower() == wanted),
                        "",
                    )
                elif tenants:
                    self.tenant_id = tenants[0].id  # the sign-in's own: no binding needed
            self._bound = _TenantToken(self.credential, tenant) if tenant else self.credential
            if tenant:
                self.tenant_id = tenant
        return self._bound

    def list_locations(self) -> list[Location]:
        """Regions of the subscription where Microsoft.ContainerInstance/containerGroups exists."""
        with self._errors("list the regions that offer Container Instances"):
            provider = self._client("resources").providers.get("Microsoft.ContainerInstance")
            offered: set[str] = set()
            for rt in provider.resource_types or []:
                if (rt.resource_type or "").lower() == "containergroups":
                    offered.update(_norm(loc) for loc in rt.locations or [])
            locations = self._client("subscriptions").subscriptions.list_locations(
                self._a.subscription_id
            )
            out = [
                Location(loc.name, loc.display_name or loc.name)
                for loc in locations
                if _norm(loc.display_name or "") in offered or _norm(loc.name or "") in offered
            ]
        return sorted(out, key=lambda loc: loc.display_name)

    def region_limits(self, location: str) -> tuple[float, float]:
        """(max memory GB, max CPU) of a Linux container group without GPU in ``location``."""
        with self._errors(f"read the limits of Container Instances in {location}"):
            caps = list(self._client("aci").location.list_capabilities(location))
        memory = cpu = 0.0
        for cap in caps:
            if _text(cap.os_type).lower() != "linux":
                continue
            if _text(cap.gpu).lower() not in ("none", ""):
                continue
            if cap.resource_type and cap.resource_type.lower() not in (
                "containergroups",
                "containergroup",
            ):
                continue
            c = cap.capabilities
            if c is not None:
                memory = max(memory, float(c.max_memory_in_gb or 0))
                cpu = max(cpu, float(c.max_cpu or 0))
        if not memory or not cpu:
            raise WizardError(
                f"Azure Container Instances offers no Linux container groups in {location}",
                "choose another region",
                exit_code=2,
                code=ErrorCode.AZURE_REGION,
                upstream="LocationNotAvailableForResourceType",
            )
        return memory, cpu

    # --- observe ----------------------------------------------------------------------

    def _get_or_none(self, what: str, fn: Callable[[], Any]) -> Any:
        from azure.core.exceptions import HttpResponseError

        with self._errors(what):
            try:
                return fn()
            except HttpResponseError as exc:
                if is_not_found(exc):
                    return None
                raise

    def _read_group(self) -> Any:
        a = self._a
        return self._get_or_none(
            f"read container group {a.container_group}",
            lambda: self._client("aci").container_groups.get(a.resource_group, a.container_group),
        )

    def _observe_group(self) -> ObservedContainerGroup | None:
        g = self._read_group()
        return None if g is None else _group_view(g, self._a.container_group)

    def _observe_connection(self) -> ObservedConnection | None:
        r = self._get_or_none(
            "read API connection aci",
            lambda: self._client("resources").resources.get_by_id(
                self._connection_id, api_version=CONNECTION_API_VERSION
            ),
        )
        if r is None:
            return None
        props = r.properties or {}
        statuses = props.get("statuses") or [] if isinstance(props, dict) else []
        status = (
            str((statuses[0] or {}).get("status", ""))
            if statuses
            else str(props.get("overallStatus", ""))
        )
        return ObservedConnection(
            id=r.id or self._connection_id, status=status, tags=dict(r.tags or {})
        )

    def _observe_workflow(self) -> ObservedWorkflow | None:
        a = self._a
        wf = self._get_or_none(
            f"read Logic App {a.logic_app}",
            lambda: self._client("logic").workflows.get(a.resource_group, a.logic_app),
        )
        if wf is None:
            return None
        params: dict[str, Any] = {}
        for key, p in (wf.parameters or {}).items():
            params[key] = {"value": getattr(p, "value", p)}
        identity = wf.identity
        return ObservedWorkflow(
            id=wf.id or "",
            definition=wf.definition if isinstance(wf.definition, dict) else {},
            parameters=params,
            identity_type=_text(identity.type) or None if identity is not None else None,
            principal_id=identity.principal_id if identity is not None else None,
            state=_text(wf.state),
            tags=dict(wf.tags or {}),
        )

    def _observe_role_assignment(self, principal_id: str | None) -> ObservedRoleAssignment | None:
        if not principal_id:
            return None
        # By principal + role at the scope, not by our name for it: the same grant made in
        # the portal (under a random name) serves the Logic App just as well.
        name = role_assignment_name(self._rg_scope, principal_id)
        role = role_definition_id(self._a.subscription_id).rsplit("/", 1)[-1].lower()
        scope = self._rg_scope.lower().rstrip("/")
        found = self._get_or_none(
            "read the Logic App's role assignments",
            lambda: list(
                self._client("authorization").role_assignments.list_for_scope(
                    self._rg_scope, filter=f"principalId eq '{principal_id}'"
                )
            ),
        )
        equal = [
            r
            for r in found or []
            if (r.principal_id or "").lower() == principal_id.lower()
            and (r.role_definition_id or "").rsplit("/", 1)[-1].lower() == role
            and (r.scope or "").lower().rstrip("/") == scope
        ]
        if not equal:
            return None
        ra = next((r for r in equal if (r.name or "").lower() == name), equal[0])
        return ObservedRoleAssignment(
            id=ra.id or "",
            name=ra.name or name,
            principal_id=ra.principal_id or "",
            role_definition_id=ra.role_definition_id or "",
        )

    def observe(self) -> Observed:
        """Reads only: what exists of the resource group, group, connection, workflow, role."""
        a = self._a
        check_cancel(self.cancel)
        rg = self._get_or_none(
            f"read resource group {a.resource_group}",
            lambda: self._client("resources").resource_groups.get(a.resource_group),
        )
        if rg is None:
            return Observed()
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="observe") as pool:
            group_f = pool.submit(self._observe_group)
            conn_f = pool.submit(self._observe_connection)
            wf_f = pool.submit(self._observe_workflow)
            group, conn, wf = group_f.result(), conn_f.result(), wf_f.result()
        ra = self._observe_role_assignment(wf.principal_id if wf else None)
        return Observed(
            resource_group=ObservedResourceGroup(
                rg.name or a.resource_group, rg.location or "", dict(rg.tags or {})
            ),
            container_group=group,
            connection=conn,
            workflow=wf,
            role_assignment=ra,
        )

    def _fingerprint(self, secrets: Secrets) -> str:
        s = self.settings
        return secrets_fingerprint(secrets, s.numerai.model_ids, bool(s.docker.username.strip()))

    def plan(
        self,
        observed: Observed | None = None,
        secrets: Secrets | None = None,
        *,
        adopt: bool = False,
    ) -> Plan:
        """Changes nothing. Without ``secrets`` a key change cannot be seen (ARM hides them)."""
        observed = observed if observed is not None else self.observe()
        fp = self._fingerprint(secrets) if secrets is not None else None
        return compute_plan(self.settings, observed, fp, adopt=adopt)

    # --- apply ------------------------------------------------------------------------

    def apply(
        self, secrets: Secrets, plan: Plan | None = None, *, adopt: bool = False
    ) -> ProvisionResult:
        """Write what the plan says, in dependency order, independent branches at once.

        Never overwrites what the tool did not create: a same-named resource without our
        tag stops it before any write (NOT_OURS), unless ``adopt``.
        """
        redact.register(*secrets.values())
        fp = self._fingerprint(secrets)
        observed = self.observe()
        if not adopt and (found := foreign(self.settings, observed)):
            raise not_ours_error(self.settings, found, "deploy")
        fresh = compute_plan(self.settings, observed, fp, adopt=adopt)
        plan = fresh if plan is None else reconcile(plan, fresh)
        self._resource_group(plan)
        check_cancel(self.cancel)
        results: dict[str, Any] = {}
        errors: list[BaseException] = []

        def branch(name: str, fn: Callable[[], Any]) -> None:
            try:
                results[name] = fn()
            except BaseException as exc:  # reported after both branches end
                errors.append(exc)

        threads = [
            threading.Thread(
                target=branch,
                args=("group", lambda: self._container_group(plan, observed, secrets, fp)),
                name="provision-group",
            ),
            threading.Thread(
                target=branch,
                args=("trigger", lambda: self._trigger_chain(plan, observed)),
                name="provision-trigger",
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            first = next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
            raise first
        connection = self.connection_status() if self._a.trigger == lw.API_CONNECTION else None
        return ProvisionResult(
            webhook_url=results["trigger"],
            actions=list(plan.actions),
            connection=connection,
            stop_failed=self._stop_failed,
        )

    @contextmanager
    def _step(self, name: str, title: str) -> Iterator[None]:
        """The one step bracket (events.step), remembering when it began for _wait's count."""
        self._step_started[name] = time.monotonic()
        with step(self.emit, name, title):
            yield

    def _resource_group(self, plan: Plan) -> None:
        a = self._a
        action = plan.for_resource("resource_group")
        with self._step("resource_group", f"Resource group {a.resource_group}"):
            if action is None or action.action == "keep":
                self.emit(StepFinished("resource_group", f"{a.resource_group} exists"))
                return
            from azure.mgmt.resource.resources.models import ResourceGroup

            with self._errors(
                f"create resource group {a.resource_group} in {a.location}", "resource_group"
            ):
                self._client("resources").resource_groups.create_or_update(
                    a.resource_group,
                    ResourceGroup(location=a.location, tags={MANAGED_BY_TAG: MANAGED_BY_VALUE}),
                )
            self.emit(StepFinished("resource_group", f"created {a.resource_group} in {a.location}"))

    def _group_body(self, secrets: Secrets, fp: str, tags: dict[str, str] | None = None) -> Any:
        from azure.mgmt.containerinstance.models import (
            Container,
            ContainerGroup,
            EnvironmentVariable,
            ImageRegistryCredential,
            ResourceRequests,
            ResourceRequirements,
        )

        want = desired_group(self.settings)
        missing = [
            name
            for name, value in (
                ("NUMERAI_PUBLIC_ID", secrets.numerai_public_id),
                ("NUMERAI_SECRET_KEY", secrets.numerai_secret_key),
                ("a model id (numerai.model_ids)", self.settings.numerai.model_id),
            )
            if not value.strip()
        ]
        if want.registry_username and not secrets.docker_password.strip():
            missing.append("DOCKER_PASSWORD (the registry password or token)")
        if missing:
            raise WizardError(
                f"cannot write the container group without {', '.join(missing)}",
                "set them in the environment (or answer the wizard's prompts) and run again",
                exit_code=2,
                code=ErrorCode.MISSING_SECRET,
            )
        env = [
            EnvironmentVariable(
                name="NUMERAI_PUBLIC_ID", secure_value=secrets.numerai_public_id.strip()
            ),
            EnvironmentVariable(
                name="NUMERAI_SECRET_KEY", secure_value=secrets.numerai_secret_key.strip()
            ),
            # every model the one run submits for; the first alone for images that read only it
            EnvironmentVariable(
                name="NUMERAI_MODEL_IDS",
                secure_value=model_ids_env(self.settings.numerai.model_ids),
            ),
            EnvironmentVariable(
                name="NUMERAI_MODEL_ID", secure_value=self.settings.numerai.model_id.strip()
            ),
        ]
        env += [EnvironmentVariable(name=k, value=v) for k, v in want.plain_env.items()]
        credentials = None
        if want.registry_server and want.registry_username:
            credentials = [
                ImageRegistryCredential(
                    server=want.registry_server,
                    username=want.registry_username,
                    password=secrets.docker_password.strip(),
                )
            ]
        return ContainerGroup(
            location=self._a.location,
            os_type=LINUX,
            restart_policy=RESTART_NEVER,
            containers=[
                Container(
                    name=want.name,
                    image=want.image,
                    resources=ResourceRequirements(
                        requests=ResourceRequests(memory_in_gb=want.memory_gb, cpu=want.cpu)
                    ),
                    environment_variables=env,
                )
            ],
            image_registry_credentials=credentials,
            tags={**(tags or {}), MANAGED_BY_TAG: MANAGED_BY_VALUE, FINGERPRINT_TAG: fp},
        )

    def _put_group(self, body: Any, *, cancellable: bool = True) -> Any:
        a = self._a
        poller = self._client("aci").container_groups.begin_create_or_update(
            a.resource_group, a.container_group, body
        )
        return self._wait(
            poller, "container_group", f"deploying {a.container_group}", cancellable=cancellable
        )

    def _delete_group(self, *, cancellable: bool = True) -> None:
        a = self._a
        poller = self._client("aci").container_groups.begin_delete(
            a.resource_group, a.container_group
        )
        self._wait(
            poller, "container_group", f"deleting {a.container_group}", cancellable=cancellable
        )

    def _recreate_group(self, body: Any) -> None:
        """Delete, then create with the same name: one unit that a cancel does not split.
        Once the delete is done, ``Removed`` says the group is gone until the step finishes."""
        a = self._a
        self._delete_group(cancellable=False)
        self.emit(Removed("container_group", "container_group", a.container_group))
        self.emit(LogLine("container_group", f"creating {a.container_group}"))
        self._put_group(body, cancellable=False)

    def _container_group(self, plan: Plan, observed: Observed, secrets: Secrets, fp: str) -> None:
        from azure.core.exceptions import HttpResponseError

        a = self._a
        action = plan.for_resource("container_group")
        kind = action.action if action is not None else "keep"
        step = "container_group"
        with self._step(step, f"Container group {a.container_group}"):
            if kind == "keep":
                self.emit(StepFinished(step, "unchanged"))
                return
            had = observed.container_group.tags if observed.container_group is not None else {}
            if action is not None and action.reason == ADOPT_REASON:
                self._adopt_group(had)
                return
            if action is not None and action.reason == STOP_LEFTOVER:
                self._stop_after_write(step)
                self.emit(
                    StepFinished(step, f"stopped the run left running in {a.container_group}")
                )
                return
            body = self._group_body(secrets, fp, had)
            what = f"{kind} container group {a.container_group}"
            with self._errors(what, step):
                if kind == "recreate":
                    why = action.reason if action is not None else "recreate"
                    self.emit(LogLine(step, f"deleting {a.container_group}: {why}"))
                    self._recreate_group(body)
                else:
                    try:
                        self._put_group(body)
                    except HttpResponseError as exc:
                        if kind != "update" or not _refused_update(exc):
                            raise
                        # A terminated or otherwise stuck group that ARM will not update:
                        # delete + create with the same name gets the same result.
                        self.emit(
                            LogLine(
                                step,
                                f"ARM refused the update ({error_code(exc)}): recreating",
                                "warning",
                            )
                        )
                        self._recreate_group(body)
            if self.settings.run.stop_after_create:
                self._stop_after_write(step)
            verb = {"create": "created", "update": "updated", "recreate": "recreated"}.get(
                kind, kind
            )
            self.emit(
                StepFinished(
                    step, f"{verb} {a.container_group} ({a.cpu:g} vCPU, {a.memory_gb:g} GB)"
                )
            )

    def _adopt_group(self, had: dict[str, str]) -> None:
        """Take over a group as it is: a tags-only PATCH (ContainerGroups_Update), no restart."""
        from azure.mgmt.containerinstance.models import Resource

        a = self._a
        with self._errors(f"tag container group {a.container_group}", "container_group"):
            self._client("aci").container_groups.update(
                a.resource_group,
                a.container_group,
                Resource(tags={**had, MANAGED_BY_TAG: MANAGED_BY_VALUE}),
            )
        self.emit(StepFinished("container_group", f"took over {a.container_group} (tagged)"))

    def _stop_after_write(self, step: str) -> None:
        """Restart policy Never starts the job at once; the first real run is Numerai's call."""
        a = self._a
        try:
            with self._errors(f"stop container group {a.container_group}", step):
                self._client("aci").container_groups.stop(a.resource_group, a.container_group)
            self.emit(
                LogLine(
                    step, f"stopped {a.container_group}: it runs when Numerai calls the webhook"
                )
            )
        except WizardError as exc:
            self._stop_failed = True
            self.emit(
                LogLine(
                    step,
                    f"could not stop {a.container_group} after deploying: {exc} "
                    "(its first run may go on; the next deploy stops it)",
                    "warning",
                )
            )

    def _trigger_chain(self, plan: Plan, observed: Observed) -> str:
        """connection -> workflow -> role assignment -> (the other mode's leftovers) -> URL.

        The unused connection or role assignment goes only after the workflow stopped using
        it: a failed update must leave a Logic App that still works as before.
        """
        a = self._a
        if a.trigger == lw.API_CONNECTION:
            self._connection(plan, observed)
        principal = self._workflow(plan, observed)
        if a.trigger == lw.MANAGED_IDENTITY:
            self._role_assignment(plan, observed, principal)
        self._delete_unused(plan, observed)
        check_cancel(self.cancel)
        with self._errors(f"read the webhook URL of Logic App {a.logic_app}", "workflow"):
            url = self._client("logic").workflow_triggers.list_callback_url(
                a.resource_group, a.logic_app, lw.TRIGGER_NAME
            )
        return str(url.value)

    def _delete_unused(self, plan: Plan, observed: Observed) -> None:
        """After a switch of trigger mode: the other mode's connection or role assignment."""
        ra_action = plan.for_resource("role_assignment")
        if ra_action is not None and ra_action.action == "delete" and observed.role_assignment:
            with self._step("role_assignment", "Remove the unused role assignment"):
                with self._errors("delete the Logic App's role assignment", "role_assignment"):
                    self._client("authorization").role_assignments.delete_by_id(
                        observed.role_assignment.id
                    )
                self.emit(StepFinished("role_assignment", "deleted (api-connection mode)"))
        conn_action = plan.for_resource("api_connection")
        if conn_action is not None and conn_action.action == "delete" and observed.connection:
            with self._step("api_connection", "Remove the unused API connection aci"):
                with self._errors("delete API connection aci", "api_connection"):
                    poller = self._client("resources").resources.begin_delete_by_id(
                        self._connection_id, api_version=CONNECTION_API_VERSION
                    )
                    self._wait(poller, "api_connection", "deleting connection aci")
                self.emit(StepFinished("api_connection", "deleted (managed-identity mode)"))

    def _connection(self, plan: Plan, observed: Observed) -> None:
        a = self._a
        step = "api_connection"
        action = plan.for_resource(step)
        had = observed.connection.tags if observed.connection is not None else {}
        with self._step(step, "API connection aci"):
            if action is None or action.action == "keep":
                self.emit(StepFinished(step, action.reason if action else "exists"))
                return
            if action.reason == ADOPT_REASON:
                # Connections_Update changes only tags: the authorization stays as it is
                from azure.mgmt.resource.resources.models import GenericResource

                with self._errors("tag API connection aci", step):
                    poller = self._client("resources").resources.begin_update_by_id(
                        self._connection_id,
                        GenericResource(tags={**had, MANAGED_BY_TAG: MANAGED_BY_VALUE}),
                        api_version=CONNECTION_API_VERSION,
                    )
                    self._wait(poller, step, "tagging connection aci")
                self.emit(StepFinished(step, "took over aci (tagged)"))
                return
            body = lw.connection_body(a.subscription_id, a.location)
            body["tags"] = {**had, MANAGED_BY_TAG: MANAGED_BY_VALUE}
            with self._errors("create API connection aci", step):
                poller = self._client("resources").resources.begin_create_or_update_by_id(
                    self._connection_id, body, api_version=CONNECTION_API_VERSION
                )
                self._wait(poller, step, "creating connection aci")
            self.emit(StepFinished(step, "created aci (authorize it once in the portal)"))

    def _workflow(self, plan: Plan, observed: Observed) -> str | None:
        from azure.mgmt.logic.models import ManagedServiceIdentity, Workflow, WorkflowParameter

        a = self._a
        step = "workflow"
        action = plan.for_resource(step)
        with self._step(step, f"Logic App {a.logic_app}"):
            if action is not None and action.action == "keep" and observed.workflow is not None:
                self.emit(StepFinished(step, "unchanged"))
                return observed.workflow.principal_id
            definition = lw.definition(
                a.trigger, a.subscription_id, a.resource_group, a.container_group, a.cloud
            )
            params = lw.workflow_parameters(
                a.trigger, a.subscription_id, a.resource_group, a.location
            )
            had_identity = observed.workflow is not None and (
                (observed.workflow.identity_type or "None").lower() != "none"
            )
            identity = None
            if a.trigger == lw.MANAGED_IDENTITY:
                identity = ManagedServiceIdentity(type="SystemAssigned")
            elif had_identity:  # say so: a PUT without identity may leave it in place
                identity = ManagedServiceIdentity(type="None")
            had = observed.workflow.tags if observed.workflow is not None else {}
            body = Workflow(
                location=a.location,
                tags={**had, MANAGED_BY_TAG: MANAGED_BY_VALUE},
                state="Enabled",
                definition=definition,
                parameters={k: WorkflowParameter(value=v["value"]) for k, v in params.items()}
                or None,
                identity=identity,
            )
            verb = "created" if action is None or action.action == "create" else "updated"
            with self._errors(f"write Logic App {a.logic_app}", step):
                wf = self._client("logic").workflows.create_or_update(
                    a.resource_group, a.logic_app, body
                )
            self.emit(StepFinished(step, f"{verb} {a.logic_app} ({a.trigger})"))
            identity = wf.identity
            return identity.principal_id if identity is not None else None

    def _role_assignment(self, plan: Plan, observed: Observed, principal_id: str | None) -> None:
        from azure.core.exceptions import HttpResponseError

        # the client's role_assignments speak 2022-04-01: its models, not the multi-API shim's
        from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

        a = self._a
        step = "role_assignment"
        with self._step(step, f"{ROLE_NAME} for {a.logic_app}"):
            if not principal_id:
                raise WizardError(
                    f"Logic App {a.logic_app} has no managed identity to grant access to",
                    "run again; if it persists, use --trigger api-connection",
                    code=ErrorCode.AZURE_NO_IDENTITY,
                )
            ra = observed.role_assignment
            if ra is not None and ra.principal_id == principal_id:
                self.emit(StepFinished(step, "unchanged"))
                return
            name = role_assignment_name(self._rg_scope, principal_id)
            params = RoleAssignmentCreateParameters(
                role_definition_id=role_definition_id(a.subscription_id),
                principal_id=principal_id,
                principal_type="ServicePrincipal",
            )
            delay = max(self.polling_interval, 0.05)
            with self._errors(
                f"grant {ROLE_NAME} on {a.resource_group} to Logic App {a.logic_app}", step
            ):
                for attempt in range(PRINCIPAL_RETRIES + 1):
                    check_cancel(self.cancel)
                    try:
                        self._client("authorization").role_assignments.create(
                            self._rg_scope, name, params
                        )
                        break
                    except HttpResponseError as exc:
                        code = error_code(exc)
                        if code == "RoleAssignmentExists":
                            break
                        if code != "PrincipalNotFound" or attempt == PRINCIPAL_RETRIES:
                            raise
                        self.emit(
                            LogLine(step, "waiting for the new identity to replicate", "debug")
                        )
                        if self.cancel is not None and self.cancel.wait(
                            min(delay * (attempt + 1), 10)
                        ):
                            raise Cancelled() from None
                        if self.cancel is None:
                            time.sleep(min(delay * (attempt + 1), 10))
            self.emit(StepFinished(step, f"granted {ROLE_NAME} on {a.resource_group}"))

    # --- connector mode ---------------------------------------------------------------

    def _tenant(self) -> str:
        if self.tenant_id:
            return self.tenant_id
        try:
            sub = self._client("subscriptions").subscriptions.get(self._a.subscription_id)
            self.tenant_id = getattr(sub, "tenant_id", "") or ""
        except Exception:  # only the deep link's tenant part is lost
            self.tenant_id = ""
        return self.tenant_id

    def connection_status(self) -> ConnectionStatus:
        """Whether ``aci`` is authorized, the portal link and the steps to authorize it."""
        conn = self._observe_connection()
        tenant = self._tenant()
        # The resource's own page (the portal's "#@<tenant>/resource<id>" form): no source
        # from Microsoft confirms a deep link into its "Edit API connection" blade, so the
        # steps name the blade instead.
        portal = cloud(self._a.cloud).portal
        link = f"{portal}/#@{tenant}/resource{self._connection_id}"
        if not tenant:
            link = f"{portal}/#resource{self._connection_id}"
        if conn is None:
            return ConnectionStatus(
                "missing", False, link, ["run deploy to create the API connection aci"]
            )
        connected = conn.status.lower() == "connected"
        steps = [
            f"Open {link}",
            "In the connection's menu, under General, select Edit API connection "
            f"(or: portal > resource group {self._a.resource_group} > API connection 'aci')",
            "Click Authorize and sign in with an account that may start the container group",
            "Click Save",
            "Check again here: the status should read Connected",
        ]
        return ConnectionStatus(
            conn.status or "unknown", connected, link, [] if connected else steps
        )

    def webhook_url(self) -> str | None:
        a = self._a
        from azure.core.exceptions import HttpResponseError

        with self._errors(f"read the webhook URL of Logic App {a.logic_app}"):
            try:
                url = self._client("logic").workflow_triggers.list_callback_url(
                    a.resource_group, a.logic_app, lw.TRIGGER_NAME
                )
            except HttpResponseError as exc:
                if is_not_found(exc):
                    return None
                raise
        return str(url.value) if url is not None and url.value else None

    # --- run history ------------------------------------------------------------------

    def runs(self, limit: int = 10) -> list[WorkflowRun]:
        """The Logic App's latest runs (one per webhook call), newest first; for a failed
        run, the first failed action's error code and message (what went wrong)."""
        a = self._a
        from azure.core.exceptions import HttpResponseError

        out: list[WorkflowRun] = []
        with self._errors(f"read the run history of Logic App {a.logic_app}", "history"):
            logic = self._client("logic")
            try:
                pages = logic.workflow_runs.list(a.resource_group, a.logic_app, top=limit)
                for run in pages:
                    out.append(self._run_of(logic, run))
                    if len(out) >= limit:
                        break
            except HttpResponseError as exc:
                if is_not_found(exc):
                    return []
                raise
        return out

    def _run_of(self, logic: Any, run: Any) -> WorkflowRun:
        status = RUN_STATUS.get(_text(run.status).lower(), "failed")
        item = WorkflowRun(
            name=run.name or "",
            started=run.start_time,
            ended=run.end_time,
            status=status,
        )
        if status != "failed":
            return item
        actions = logic.workflow_run_actions.list(
            self._a.resource_group, self._a.logic_app, item.name
        )
        for action in actions:
            if _text(action.status).lower() not in ("failed", "timedout", "aborted", "cancelled"):
                continue
            error = action.error if isinstance(action.error, dict) else {}
            item.failed_action = action.name or ""
            item.code = str(error.get("code") or _text(action.code))
            item.message = redact.redact(str(error.get("message") or ""))
            return item
        error = run.error if isinstance(run.error, dict) else {}
        item.code = str(error.get("code") or _text(run.code))
        item.message = redact.redact(str(error.get("message") or ""))
        return item

    def _role_assignment_age(self) -> float | None:
        """Seconds since the Logic App's role assignment was made (None: none found)."""
        wf = self._observe_workflow()
        if wf is None or not wf.principal_id:
            return None
        ra = self._observe_role_assignment(wf.principal_id)
        if ra is None:
            return None
        found = self._get_or_none(
            "read the Logic App's role assignment",
            lambda: self._client("authorization").role_assignments.get_by_id(ra.id),
        )
        created = getattr(found, "created_on", None)
        if created is None:
            return None
        return float((datetime.now(UTC) - created).total_seconds())

    def await_trigger_run(
        self,
        since: datetime,
        retrigger: Callable[[], None],
        *,
        step: str = "trigger",
        window: float = ROLE_WAIT_SECONDS,
        retry_every: float = 30.0,
        poll: float = 2.0,
        timeout: float = 120.0,
    ) -> WorkflowRun | None:
        """Follow the Logic App run of a webhook call made at ``since`` until it ends.

        Managed identity right after deploy: Azure takes minutes to put a new role
        assignment into effect, and meanwhile the run fails with AuthorizationFailed. When
        that is the failure and the assignment is new, say so and call ``retrigger()``
        (Numerai calls the webhook again) after a countdown, for up to ``window`` seconds.
        Returns the last run seen (None: no run started within ``timeout``); raises
        WizardError when the identity is still refused at the end of the window.
        """
        started = triggered = time.monotonic()
        seen: set[str] = set()
        last: WorkflowRun | None = None
        explained = False
        while True:
            check_cancel(self.cancel)
            newer = [r for r in self.runs(5) if r.started is None or r.started >= since]
            fresh = [r for r in newer if r.name not in seen]
            current = fresh[0] if fresh else None
            if current is None and time.monotonic() - triggered > timeout:
                return last
            if current is not None and current.status != "running":
                seen.add(current.name)
                last = current
                if not _identity_not_ready(current):
                    return current
                age = self._role_assignment_age()
                if age is None or age > ROLE_NEW_SECONDS:
                    return current  # an old grant that fails: not a matter of waiting
                left = window - (time.monotonic() - started)
                if left <= 0:
                    raise WizardError(
                        "the Logic App's managed identity is still not allowed to start the "
                        f"container group after {int(window)} s: {current.message}",
                        "Azure can take up to 10 minutes to apply a new role assignment; run "
                        "trigger again in a few minutes",
                        code=ErrorCode.AZURE_FORBIDDEN,
                        upstream="RoleAssignmentNotEffective",
                    )
                if not explained:
                    explained = True
                    self.emit(
                        LogLine(
                            step,
                            "The Logic App's new role assignment is not in effect yet (Azure "
                            "takes a few minutes after deploy): trying again until it is.",
                            "warning",
                        )
                    )
                wait = min(retry_every, left)
                end = time.monotonic() + wait
                while (remaining := end - time.monotonic()) > 0:
                    self.emit(
                        Progress(
                            step,
                            int(time.monotonic() - started),
                            int(window),
                            "s",
                            f"trying again in {int(remaining + 0.999)} s",
                        )
                    )
                    self._sleep(min(1.0, remaining))
                retrigger()
                triggered = time.monotonic()
                continue
            self._sleep(poll)

    def _sleep(self, seconds: float) -> None:
        if self.cancel is not None:
            if self.cancel.wait(seconds):
                raise Cancelled()
        else:
            time.sleep(seconds)

    # --- status, logs ----------------------------------------------------------

    def status(self) -> GroupStatus:
        g = self._read_group()
        if g is None:
            return GroupStatus(exists=False)
        group = _group_view(g, self._a.container_group)
        first = (g.containers or [None])[0]
        view = first.instance_view if first is not None else None
        current = view.current_state if view is not None else None
        previous = view.previous_state if view is not None else None
        run = (
            current
            if current is not None and (current.start_time or current.exit_code is not None)
            else previous
        )
        state = group.state or (current.state if current is not None and current.state else "")
        return GroupStatus(
            exists=True,
            state=state or group.provisioning_state,
            image=group.image,
            cpu=group.cpu,
            memory_gb=group.memory_gb,
            started=run.start_time if run is not None else None,
            finished=run.finish_time if run is not None else None,
            exit_code=run.exit_code if run is not None else None,
        )

    def logs(self, tail: int | None = None) -> str:
        a = self._a
        from azure.core.exceptions import HttpResponseError

        with self._errors(f"read the logs of {a.container_group}", "logs"):
            try:
                result = self._client("aci").containers.list_logs(
                    a.resource_group, a.container_group, a.container_group, tail=tail
                )
            except HttpResponseError as exc:
                if is_not_found(exc):
                    raise WizardError(
                        f"container group {a.container_group} does not exist in {a.resource_group}",
                        "run deploy first",
                        code=ErrorCode.AZURE_NOT_FOUND,
                        upstream="ResourceNotFound",
                    ) from exc
                raise
        return redact.redact(result.content or "")

    def follow_logs(self, on_text: Callable[[str], None], *, poll: float = 2.0) -> GroupStatus:
        """Hand new log text to ``on_text`` until the run ends (or cancel); returns the end state."""
        seen = ""
        while True:
            status = self.status()
            text = self.logs() if status.exists else ""
            new = _new_text(seen, text)
            if new:
                on_text(new)
            seen = text
            if not status.running:
                return status
            if self.cancel is not None:
                if self.cancel.wait(poll):
                    return status
            else:
                time.sleep(poll)

    # --- destroy ----------------------------------------------------------------------

    def destroy(self) -> list[Action]:
        """Delete what the tool made; the resource group only if it is ours and empty."""
        a = self._a
        observed = self.observe()
        if found := foreign(self.settings, observed):
            raise not_ours_error(self.settings, found, "destroy")  # before any delete
        actions: list[Action] = []
        if observed.resource_group is None:
            return [Action("resource_group", a.resource_group, "keep", "does not exist")]
        errors: list[BaseException] = []

        def group() -> None:
            if observed.container_group is None:
                return
            with self._step("container_group", f"Delete {a.container_group}"):
                with self._errors(f"delete container group {a.container_group}", "container_group"):
                    self._delete_group()
                self.emit(StepFinished("container_group", f"deleted {a.container_group}"))
            actions.append(Action("container_group", a.container_group, "delete", "destroy"))

        def rest() -> None:
            ra = observed.role_assignment
            if ra is not None:
                with self._step("role_assignment", f"Delete the role assignment of {a.logic_app}"):
                    with self._errors("delete the Logic App's role assignment", "role_assignment"):
                        self._client("authorization").role_assignments.delete_by_id(ra.id)
                    self.emit(StepFinished("role_assignment", "deleted"))
                actions.append(Action("role_assignment", ra.name, "delete", "destroy"))
            if observed.workflow is not None:
                with self._step("workflow", f"Delete Logic App {a.logic_app}"):
                    with self._errors(f"delete Logic App {a.logic_app}", "workflow"):
                        self._client("logic").workflows.delete(a.resource_group, a.logic_app)
                    self.emit(StepFinished("workflow", f"deleted {a.logic_app}"))
                actions.append(Action("workflow", a.logic_app, "delete", "destroy"))
            if observed.connection is not None:
                with self._step("api_connection", "Delete API connection aci"):
                    with self._errors("delete API connection aci", "api_connection"):
                        poller = self._client("resources").resources.begin_delete_by_id(
                            self._connection_id, api_version=CONNECTION_API_VERSION
                        )
                        self._wait(poller, "api_connection", "deleting connection aci")
                    self.emit(StepFinished("api_connection", "deleted aci"))
                actions.append(Action("api_connection", lw.CONNECTION_NAME, "delete", "destroy"))

        def run(fn: Callable[[], None]) -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(fn,)) for fn in (group, rest)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        gone = {x.name.lower() for x in actions if x.action == "delete"}
        actions.append(self._destroy_resource_group(observed.resource_group, gone))
        return actions

    def _left_in_group(self, gone: set[str]) -> list[Any]:
        """What the resource group still holds. ARM's list lags behind deletes for a while:
        while it shows only what this run just deleted, read it again a few times."""
        a = self._a
        delay = max(self.polling_interval, 0.5)
        for attempt in range(LIST_SETTLE_POLLS):
            with self._errors(f"list what is left in {a.resource_group}"):
                left = list(
                    self._client("resources").resources.list_by_resource_group(a.resource_group)
                )
            if not left or any((r.name or "").lower() not in gone for r in left):
                return left
            if attempt < LIST_SETTLE_POLLS - 1:
                self.emit(
                    LogLine("resource_group", "waiting for Azure to list the deletions", "debug")
                )
                if self.cancel is not None:
                    if self.cancel.wait(delay):
                        raise Cancelled()
                else:
                    time.sleep(delay)
        return left

    def _destroy_resource_group(self, rg: ObservedResourceGroup, gone: set[str]) -> Action:
        a = self._a
        if rg.tags.get(MANAGED_BY_TAG) != MANAGED_BY_VALUE:
            return Action("resource_group", a.resource_group, "keep", "not created by this tool")
        left = self._left_in_group(gone)
        if left:
            names = ", ".join(sorted(r.name or "?" for r in left)[:5])
            return Action("resource_group", a.resource_group, "keep", f"still holds {names}")
        with self._step("resource_group", f"Delete resource group {a.resource_group}"):
            with self._errors(f"delete resource group {a.resource_group}", "resource_group"):
                poller = self._client("resources").resource_groups.begin_delete(a.resource_group)
                self._wait(poller, "resource_group", f"deleting {a.resource_group}")
            self.emit(StepFinished("resource_group", f"deleted {a.resource_group}"))
        return Action(
            "resource_group", a.resource_group, "delete", "created by this tool and now empty"
        )


def _identity_not_ready(run: WorkflowRun) -> bool:
    """A managed-identity start refused by ARM (403 AuthorizationFailed)."""
    return run.status == "failed" and (
        run.code in ("AuthorizationFailed", "Forbidden") or "AuthorizationFailed" in run.message
    )


def _norm(location: str) -> str:
    return location.replace(" ", "").lower()


def _refused_update(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in UPDATE_REFUSED_CODES or getattr(exc, "status_code", None) == 409


def _new_text(seen: str, text: str) -> str:
    """The part of ``text`` not yet shown. ACI keeps only the log's tail, so the old text
    may have scrolled off the front: find the longest overlap of old end and new start."""
    if not seen:
        return text
    if text.startswith(seen):
        return text[len(seen) :]
    for size in range(min(len(seen), len(text)), 0, -1):
        if seen.endswith(text[:size]):
            return text[size:]
    return text
