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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import redact, waits
from .. import workflow as lw
from ..engines import (
    ProvisionResult,
)
from ..events import (
    Cancelled,
    ErrorCode,
    GroupStopped,
    LogLine,
    Removed,
    Step,
    WizardError,
    check_cancel,
    step,
)
from ..plan import (
    ADOPT_REASON,
    FINGERPRINT_TAG,
    LINUX,
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    RESTART_NEVER,
    STOP_REASONS,
    Action,
    Observed,
    ObservedResourceGroup,
    Plan,
    compute_plan,
    container_env,
    desired_group,
    foreign,
    not_ours_error,
    reconcile,
    role_definition_id,
    secrets_fingerprint,
)
from ..settings import Secrets
from . import arm_guard
from .azure_base import CONNECTION_API_VERSION, role_assignment_name
from .azure_errors import error_code
from .azure_runtime import AzureRuntime

ROLE_NAME = "Azure Container Instances Contributor Role"
#: destroy: how many times to read the resource group's contents while ARM's list still
#: shows what was just deleted
LIST_SETTLE_POLLS = 6
#: PrincipalNotFound: a new managed identity takes seconds to replicate to Entra ID.
PRINCIPAL_RETRIES = 12
UPDATE_REFUSED_CODES = {
    "InvalidContainerGroupUpdate",
    "ContainerGroupTransitioning",
    "ContainerGroupNotReady",
}


class Azure(AzureRuntime):
    """One subscription + resource group as the settings name them: the whole engine."""

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
        self._ensure_providers(plan)
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
            waits.join(t)  # in slices: a Ctrl+C lands at once (cancel then stops both)
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
    def _step(self, name: str, title: str) -> Iterator[Step]:
        """The one step bracket (events.step), remembering when it began for _wait's count;
        the handle's ``done(summary, change=...)`` ends it well."""
        self._step_started[name] = time.monotonic()
        with step(self.emit, name, title, field="azure.resource_group") as handle:
            yield handle

    def _resource_group(self, plan: Plan) -> None:
        a = self._a
        action = plan.for_resource("resource_group")
        with self._step("resource_group", f"Resource group {a.resource_group}") as handle:
            if action is None or action.action == "keep":
                handle.done(f"{a.resource_group} exists")
                return
            from azure.mgmt.resource.resources.models import ResourceGroup

            with self._errors(
                f"create resource group {a.resource_group} in {a.location}", "resource_group"
            ):
                self._client("resources").resource_groups.create_or_update(
                    a.resource_group,
                    ResourceGroup(location=a.location, tags=self._tags()),
                )
            handle.done(f"created {a.resource_group} in {a.location}", change=action)

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
            EnvironmentVariable(name=k, secure_value=v)
            for k, v in container_env(self.settings, secrets).items()
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
            tags={**self._tags(tags), FINGERPRINT_TAG: fp},
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
        with self._step(step, f"Container group {a.container_group}") as handle:
            if kind == "keep":
                handle.done("unchanged")
                return
            had = observed.container_group.tags if observed.container_group is not None else {}
            if action is not None and action.reason == ADOPT_REASON:
                self._adopt_group(had)
                handle.done(f"took over {a.container_group} (tagged)")
                return
            if action is not None and action.reason in STOP_REASONS:
                self._stop_after_write(step)
                handle.done(f"stopped the run left running in {a.container_group}")
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
            handle.done(
                f"{verb} {a.container_group} ({a.cpu:g} vCPU, {a.memory_gb:g} GB)", change=action
            )

    def _adopt_group(self, had: dict[str, str]) -> None:
        """Take over a group as it is: a tags-only PATCH (ContainerGroups_Update), no restart."""
        from azure.mgmt.containerinstance.models import Resource

        a = self._a
        with self._errors(f"tag container group {a.container_group}", "container_group"):
            self._client("aci").container_groups.update(
                a.resource_group,
                a.container_group,
                Resource(tags=self._tags(had)),
            )

    def _stop_after_write(self, step: str) -> None:
        """Restart policy Never starts the job at once; the first real run is Numerai's call."""
        a = self._a
        try:
            with self._errors(f"stop container group {a.container_group}", step):
                self._client("aci").container_groups.stop(a.resource_group, a.container_group)
            self.emit(GroupStopped(step, a.container_group))  # the pending stop is done
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
            with self._step("role_assignment", "Remove the unused role assignment") as handle:
                with self._errors("delete the Logic App's role assignment", "role_assignment"):
                    self._client("authorization").role_assignments.delete_by_id(
                        observed.role_assignment.id
                    )
                handle.done("deleted (api-connection mode)", change=ra_action)
        conn_action = plan.for_resource("api_connection")
        if conn_action is not None and conn_action.action == "delete" and observed.connection:
            with self._step("api_connection", "Remove the unused API connection aci") as handle:
                with self._errors("delete API connection aci", "api_connection"):
                    poller = self._client("resources").resources.begin_delete_by_id(
                        self._connection_id, api_version=CONNECTION_API_VERSION
                    )
                    self._wait(poller, "api_connection", "deleting connection aci")
                handle.done("deleted (managed-identity mode)", change=conn_action)

    def _connection(self, plan: Plan, observed: Observed) -> None:
        a = self._a
        step = "api_connection"
        action = plan.for_resource(step)
        had = observed.connection.tags if observed.connection is not None else {}
        with self._step(step, "API connection aci") as handle:
            if action is None or action.action == "keep":
                handle.done(action.reason if action else "exists")
                return
            if action.reason == ADOPT_REASON:
                # Connections_Update changes only tags: the authorization stays as it is
                from azure.mgmt.resource.resources.models import GenericResource

                with self._errors("tag API connection aci", step):
                    poller = self._client("resources").resources.begin_update_by_id(
                        self._connection_id,
                        GenericResource(tags=self._tags(had)),
                        api_version=CONNECTION_API_VERSION,
                    )
                    self._wait(poller, step, "tagging connection aci")
                handle.done("took over aci (tagged)")
                return
            body = lw.connection_body(a.subscription_id, a.location)
            body["tags"] = self._tags(had)
            with self._errors("create API connection aci", step):
                poller = self._client("resources").resources.begin_create_or_update_by_id(
                    self._connection_id, body, api_version=CONNECTION_API_VERSION
                )
                self._wait(poller, step, "creating connection aci")
            handle.done("created aci (authorize it once in the portal)", change=action)

    def _workflow(self, plan: Plan, observed: Observed) -> str | None:
        from azure.mgmt.logic.models import ManagedServiceIdentity, Workflow, WorkflowParameter

        a = self._a
        step = "workflow"
        action = plan.for_resource(step)
        with self._step(step, f"Logic App {a.logic_app}") as handle:
            if action is not None and action.action == "keep" and observed.workflow is not None:
                handle.done("unchanged")
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
                tags=self._tags(had),
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
            done = action or Action(step, a.logic_app, "create", "missing")
            handle.done(f"{verb} {a.logic_app} ({a.trigger})", change=done)
            identity = wf.identity
            return identity.principal_id if identity is not None else None

    def _role_assignment(self, plan: Plan, observed: Observed, principal_id: str | None) -> None:
        from azure.core.exceptions import HttpResponseError

        # the client's role_assignments speak 2022-04-01: its models, not the multi-API shim's
        from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

        a = self._a
        step = "role_assignment"
        with self._step(step, f"{ROLE_NAME} for {a.logic_app}") as handle:
            if not principal_id:
                raise WizardError(
                    f"Logic App {a.logic_app} has no managed identity to grant access to",
                    "run again; if it persists, use --trigger api-connection",
                    code=ErrorCode.AZURE_NO_IDENTITY,
                )
            ra = observed.role_assignment
            if ra is not None and ra.principal_id == principal_id:
                handle.done("unchanged")
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
                        self._sleep(min(delay * (attempt + 1), 10))
            granted = plan.for_resource(step) or Action(step, ROLE_NAME, "create", "missing")
            handle.done(f"granted {ROLE_NAME} on {a.resource_group}", change=granted)

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
            deleted = Action("container_group", a.container_group, "delete", "destroy")
            with self._step("container_group", f"Delete {a.container_group}") as handle:
                with self._errors(f"delete container group {a.container_group}", "container_group"):
                    self._delete_group()
                handle.done(f"deleted {a.container_group}", change=deleted)
            actions.append(deleted)

        def rest() -> None:
            ra = observed.role_assignment
            if ra is not None:
                deleted = Action("role_assignment", ra.name, "delete", "destroy")
                title = f"Delete the role assignment of {a.logic_app}"
                with self._step("role_assignment", title) as handle:
                    with self._errors("delete the Logic App's role assignment", "role_assignment"):
                        self._client("authorization").role_assignments.delete_by_id(ra.id)
                    handle.done("deleted", change=deleted)
                actions.append(deleted)
            if observed.workflow is not None:
                deleted = Action("workflow", a.logic_app, "delete", "destroy")
                with self._step("workflow", f"Delete Logic App {a.logic_app}") as handle:
                    with self._errors(f"delete Logic App {a.logic_app}", "workflow"):
                        self._client("logic").workflows.delete(a.resource_group, a.logic_app)
                    handle.done(f"deleted {a.logic_app}", change=deleted)
                actions.append(deleted)
            if observed.connection is not None:
                deleted = Action("api_connection", lw.CONNECTION_NAME, "delete", "destroy")
                with self._step("api_connection", "Delete API connection aci") as handle:
                    with self._errors("delete API connection aci", "api_connection"):
                        poller = self._client("resources").resources.begin_delete_by_id(
                            self._connection_id, api_version=CONNECTION_API_VERSION
                        )
                        self._wait(poller, "api_connection", "deleting connection aci")
                    handle.done("deleted aci", change=deleted)
                actions.append(deleted)

        def run(fn: Callable[[], None]) -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(fn,)) for fn in (group, rest)]
        for t in threads:
            t.start()
        for t in threads:
            waits.join(t)  # in slices: a Ctrl+C lands at once (cancel then stops both)
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
                    arm_guard.bounded_pages(
                        self._client("resources").resources.list_by_resource_group(
                            a.resource_group
                        ),
                        f"the resources in {a.resource_group}",
                    )
                )
            if not left or any((r.name or "").lower() not in gone for r in left):
                return left
            if attempt < LIST_SETTLE_POLLS - 1:
                self.emit(
                    LogLine("resource_group", "waiting for Azure to list the deletions", "debug")
                )
                self._sleep(delay)
        return left

    def _destroy_resource_group(self, rg: ObservedResourceGroup, gone: set[str]) -> Action:
        a = self._a
        if rg.tags.get(MANAGED_BY_TAG) != MANAGED_BY_VALUE:
            return Action("resource_group", a.resource_group, "keep", "not created by this tool")
        left = self._left_in_group(gone)
        if left:
            names = ", ".join(sorted(r.name or "?" for r in left)[:5])
            return Action("resource_group", a.resource_group, "keep", f"still holds {names}")
        deleted = Action(
            "resource_group", a.resource_group, "delete", "created by this tool and now empty"
        )
        with self._step("resource_group", f"Delete resource group {a.resource_group}") as handle:
            with self._errors(f"delete resource group {a.resource_group}", "resource_group"):
                poller = self._client("resources").resource_groups.begin_delete(a.resource_group)
                self._wait(poller, "resource_group", f"deleting {a.resource_group}")
            handle.done(f"deleted {a.resource_group}", change=deleted)
        return deleted


def _refused_update(exc: BaseException) -> bool:
    code = error_code(exc)
    return code in UPDATE_REFUSED_CODES or getattr(exc, "status_code", None) == 409
