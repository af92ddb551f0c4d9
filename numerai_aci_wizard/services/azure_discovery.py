"""The Azure engine's discovery: tenants, subscriptions, regions and their limits, and
what the deployment's resources look like now (``observe``)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import waits
from .. import workflow as lw
from ..engines import (
    Location,
    Subscription,
    Tenant,
)
from ..events import (
    ErrorCode,
    WizardError,
    check_cancel,
)
from ..plan import (
    Observed,
    ObservedConnection,
    ObservedContainerGroup,
    ObservedResourceGroup,
    ObservedRoleAssignment,
    ObservedWorkflow,
    role_definition_id,
)
from . import arm_guard, azure_providers
from .azure_base import (
    CONNECTION_API_VERSION,
    AzureBase,
    _group_view,
    _TenantToken,
    _text,
    role_assignment_name,
)
from .azure_errors import is_not_found


class AzureDiscovery(AzureBase):
    """What exists: read, never written."""

    # --- discovery --------------------------------------------------------------------

    def _tenant_client(self, tenant_id: str) -> Any:
        """A subscriptions client whose tokens are for ``tenant_id`` ("" = the sign-in's)."""
        from azure.mgmt.resource.subscriptions import SubscriptionClient

        cred = _TenantToken(self.credential, tenant_id) if tenant_id else self.credential
        return SubscriptionClient(cred, **self._client_kwargs(), **self._guards(cred))

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
        """Regions of the subscription offering all the deploy needs there: container groups,
        Logic Apps workflows and, in api-connection mode, managed API connections (``aci``)."""
        with self._errors("list the regions that offer Container Instances"):
            offered = self._offered("Microsoft.ContainerInstance", "containergroups")
            offered &= self._offered("Microsoft.Logic", "workflows")
            if self._a.trigger == lw.API_CONNECTION:
                offered &= self._offered("Microsoft.Web", "connections")
            locations = self._client("subscriptions").subscriptions.list_locations(
                self._a.subscription_id
            )
            out = [
                Location(loc.name, loc.display_name or loc.name)
                for loc in locations
                if _norm(loc.display_name or "") in offered or _norm(loc.name or "") in offered
            ]
        return sorted(out, key=lambda loc: loc.display_name)

    def _offered(self, namespace: str, resource_type: str) -> set[str]:
        """Normalized names of the regions where ``namespace`` offers ``resource_type``."""
        provider = self._client("resources").providers.get(namespace)
        offered: set[str] = set()
        for rt in provider.resource_types or []:
            if (rt.resource_type or "").lower() == resource_type:
                offered.update(_norm(loc) for loc in rt.locations or [])
        return offered

    def region_limits(self, location: str) -> tuple[float, float]:
        """(max memory GB, max CPU) of a Linux container group without GPU in ``location``."""
        try:
            with self._errors(f"read the limits of Container Instances in {location}"):
                caps = list(
                    arm_guard.bounded_pages(
                        self._client("aci").location.list_capabilities(location),
                        f"the capabilities of {location}",
                    )
                )
        except WizardError as exc:
            if exc.upstream != "MissingSubscriptionRegistration":
                raise
            return azure_providers.STANDARD_LIMITS  # readable once deploy has registered it
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
            except azure_providers.ProviderNotRegistered:
                return None  # nothing of a provider the subscription never registered exists

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
                arm_guard.bounded_pages(
                    self._client("authorization").role_assignments.list_for_scope(
                        self._rg_scope, filter=f"principalId eq '{principal_id}'"
                    ),
                    "the role assignments",
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
            group, conn, wf = waits.result(group_f), waits.result(conn_f), waits.result(wf_f)
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


def _norm(location: str) -> str:
    return location.replace(" ", "").lower()
