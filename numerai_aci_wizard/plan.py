"""Desired settings vs what exists in Azure -> one action per resource, with a human reason.

Pure on purpose (no Azure import): the plan is what ``plan --json`` prints, what the
wizard shows before it writes anything, and what ``apply`` follows, so it must be
testable from plain data. Computing a plan changes nothing.

ARM refuses to change CPU, memory, restart policy, OS type or network profile of a
container group in place (409 InvalidContainerGroupUpdate): those plan a *recreate*
(delete + create with the same name). Secure values are never returned by ARM, so a
fingerprint of the secrets is kept in a tag on the group: a key change plans an
update and nothing else does.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import workflow as logic_workflow
from .events import Action as Action
from .events import ErrorCode, WizardError
from .image_ref import ImageRefError, aci_image, parse_image_ref, same_image
from .settings import Secrets, Settings

MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "numerai-aci-wizard"
FINGERPRINT_TAG = "numerai-aci-wizard-secrets"
#: Every model the run submits for (comma-separated), and the first alone for older images.
SECURE_ENV = ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "NUMERAI_MODEL_IDS", "NUMERAI_MODEL_ID")
API_URL_ENV = "NUMERAI_API_URL"
RESTART_NEVER = "Never"
LINUX = "Linux"
#: "Azure Container Instances Contributor Role": containerGroups/* and reads, nothing else.
ACI_CONTRIBUTOR_ROLE = "5d977122-f97e-4b4d-a52f-6b43003ddb4d"

#: What Azure holds; the engine names the step that writes each after it.
AZURE_RESOURCES = (
    "resource_group",
    "container_group",
    "api_connection",
    "workflow",
    "role_assignment",
)
#: Everything a plan has an action for: Azure's, then Numerai's webhook and the image.
RESOURCES = (*AZURE_RESOURCES, "webhook", "image")
ACTIONS = ("create", "update", "recreate", "keep", "delete")


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``plan --json`` shape of DESIGN.md."""
        return {"actions": [asdict(a) for a in self.actions]}

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.action != "keep"]

    def for_resource(self, resource: str) -> Action | None:
        return next((a for a in self.actions if a.resource == resource), None)


# --- What exists (pure data, filled by the Azure service) -----------------------------


@dataclass(frozen=True)
class ObservedResourceGroup:
    name: str
    location: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedContainerGroup:
    name: str
    location: str = ""
    image: str = ""
    cpu: float = 0.0
    memory_gb: float = 0.0
    restart_policy: str = RESTART_NEVER
    os_type: str = LINUX
    container_name: str = ""
    container_count: int = 1
    registry_server: str | None = None
    registry_username: str | None = None
    #: name -> plain value, or None for a secure value (ARM never returns those)
    env: dict[str, str | None] = field(default_factory=dict)
    provisioning_state: str = ""
    #: instance view state: Running, Succeeded, Stopped, Terminated, Failed, ...
    state: str = ""
    has_ip_address: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def env_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.env))


@dataclass(frozen=True)
class ObservedConnection:
    id: str
    status: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedWorkflow:
    id: str
    definition: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    identity_type: str | None = None
    principal_id: str | None = None
    state: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedRoleAssignment:
    id: str
    name: str
    principal_id: str = ""
    role_definition_id: str = ""


@dataclass(frozen=True)
class Observed:
    """What exists in the resource group (None: missing)."""

    resource_group: ObservedResourceGroup | None = None
    container_group: ObservedContainerGroup | None = None
    connection: ObservedConnection | None = None
    workflow: ObservedWorkflow | None = None
    role_assignment: ObservedRoleAssignment | None = None


# --- What we want -----------------------------------------------------------------------


def model_ids_env(model_ids: Sequence[str]) -> str:
    """NUMERAI_MODEL_IDS as the container reads it: the ids in order, comma-separated."""
    return ",".join(m.strip() for m in model_ids if m.strip())


def container_env(settings: Settings, secrets: Secrets) -> dict[str, str]:
    """The secure variables predict.py reads (SECURE_ENV), built once for the container
    group on Azure and for the rehearsal on this machine: the Numerai keys, every model
    the one run submits for, and the first alone for images that read only it."""
    ids = model_ids_env(settings.numerai.model_ids)
    return {
        "NUMERAI_PUBLIC_ID": secrets.numerai_public_id.strip(),
        "NUMERAI_SECRET_KEY": secrets.numerai_secret_key.strip(),
        "NUMERAI_MODEL_IDS": ids,
        "NUMERAI_MODEL_ID": ids.split(",")[0],
    }


def secrets_fingerprint(
    secrets: Secrets, model_ids: Sequence[str] | str, with_registry_password: bool = True
) -> str:
    """sha256 over the secure values + the model ids, first 16 hex: tells a key change apart.

    The ids count in order (the first holds the webhook); one id hashes as it always did.

    The registry password counts only when the group holds registry credentials (a
    username is set): a DOCKER_PASSWORD left in the environment for a public image must
    not make every run look changed.
    """
    password = secrets.docker_password if with_registry_password else ""
    digest = hashlib.sha256()
    for value in (
        secrets.numerai_public_id,
        secrets.numerai_secret_key,
        model_ids if isinstance(model_ids, str) else model_ids_env(model_ids),
        password,
    ):
        digest.update(value.strip().encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class DesiredGroup:
    name: str
    image: str
    cpu: float
    memory_gb: float
    registry_server: str | None
    registry_username: str | None
    env_names: tuple[str, ...]
    plain_env: dict[str, str]


def desired_group(settings: Settings, environ: dict[str, str] | None = None) -> DesiredGroup:
    """The container group the settings ask for. NUMERAI_API_URL is passed on only when
    the tool itself runs with it (a proxy or a test server)."""
    env = os.environ if environ is None else environ
    username = settings.docker.username.strip()
    server = None
    if username:
        try:
            server = parse_image_ref(settings.docker.image).credential_server
        except ImageRefError:
            server = None
    plain = {API_URL_ENV: env[API_URL_ENV]} if env.get(API_URL_ENV) else {}
    return DesiredGroup(
        name=settings.azure.container_group,
        image=aci_image(settings.docker.image),
        cpu=float(settings.azure.cpu),
        memory_gb=float(settings.azure.memory_gb),
        registry_server=server,
        registry_username=username or None,
        env_names=tuple(sorted((*SECURE_ENV, *plain))),
        plain_env=plain,
    )


def role_definition_id(subscription_id: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization"
        f"/roleDefinitions/{ACI_CONTRIBUTOR_ROLE}"
    )


# --- Only what is ours --------------------------------------------------------------------

#: the reason a plan gives for a same-named resource the tool did not create
NOT_OURS = "exists, not created by this tool"
#: the reason for taking one over with ``deploy --adopt`` (a tags-only write)
ADOPT_REASON = "take it over (deploy --adopt): tag it managed-by numerai-aci-wizard"


def is_ours(tags: dict[str, str] | None) -> bool:
    return (tags or {}).get(MANAGED_BY_TAG) == MANAGED_BY_VALUE


def foreign(settings: Settings, observed: Observed) -> list[tuple[str, str]]:
    """(resource, name) of every same-named resource the tool did not create.

    The container group, the Logic App and the API connection carry our tag when we made
    them. A role assignment cannot carry tags: it is ours when its principal is our Logic
    App's identity, so it is foreign exactly when the Logic App is. The resource group
    is never on this list: we only ever delete it when it is ours and empty.
    """
    out: list[tuple[str, str]] = []
    a = settings.azure
    if observed.container_group is not None and not is_ours(observed.container_group.tags):
        out.append(("container_group", a.container_group))
    if observed.connection is not None and not is_ours(observed.connection.tags):
        out.append(("api_connection", logic_workflow.CONNECTION_NAME))
    if observed.workflow is not None and not is_ours(observed.workflow.tags):
        out.append(("workflow", a.logic_app))
        if observed.role_assignment is not None:
            out.append(("role_assignment", observed.role_assignment.name))
    return out


def not_ours_error(settings: Settings, found: list[tuple[str, str]], command: str) -> WizardError:
    """The refusal of deploy (without --adopt) or destroy when ``found`` is not empty."""
    a = settings.azure
    names = ", ".join(f"{r.replace('_', ' ')} {n}" for r, n in found)
    if command == "deploy":
        hint = (
            "choose other names (--container-group, --logic-app, --resource-group), or run "
            "deploy --adopt to take them over (they get overwritten and tagged)"
        )
    else:
        hint = (
            "nothing was deleted; delete them yourself in the portal, or take them over first "
            "with deploy --adopt"
        )
    return WizardError(
        f"{command} refused: in resource group {a.resource_group}, {names} "
        f"{'exists' if len(found) == 1 else 'exist'} but {'was' if len(found) == 1 else 'were'} "
        f"not created by this tool (no tag {MANAGED_BY_TAG}: {MANAGED_BY_VALUE})",
        hint,
        code=ErrorCode.NOT_OURS,
    )


def _owned(action: Action, ours: bool, adopt: bool) -> Action:
    """What becomes of ``action`` on an existing resource that is (not) ours."""
    if ours:
        return action
    if not adopt:
        return Action(
            action.resource, action.name, "keep", f"{NOT_OURS} (deploy --adopt takes it over)"
        )
    if action.action == "keep":
        return Action(action.resource, action.name, "update", ADOPT_REASON)
    return Action(
        action.resource, action.name, action.action, f"{action.reason}; take it over (tag it)"
    )


# --- The plan ---------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


def _group_action(
    settings: Settings, group: ObservedContainerGroup | None, fingerprint: str | None
) -> Action:
    name = settings.azure.container_group
    want = desired_group(settings)
    if group is None:
        return Action(
            "container_group",
            name,
            "create",
            f"{want.image}, {_num(want.cpu)} vCPU, {_num(want.memory_gb)} GB",
        )
    recreate: list[str] = []
    if abs(group.memory_gb - want.memory_gb) > 1e-9:
        recreate.append(f"memory {_num(group.memory_gb)} -> {_num(want.memory_gb)} GB")
    if abs(group.cpu - want.cpu) > 1e-9:
        recreate.append(f"CPU {_num(group.cpu)} -> {_num(want.cpu)} vCPU")
    if group.restart_policy != RESTART_NEVER:
        recreate.append(f"restart policy {group.restart_policy} -> {RESTART_NEVER}")
    if group.os_type != LINUX:
        recreate.append(f"OS {group.os_type} -> {LINUX}")
    if group.has_ip_address:
        recreate.append("remove its public IP address")
    if (
        group.location
        and settings.azure.location
        and group.location.replace(" ", "").lower() != (settings.azure.location.lower())
    ):
        recreate.append(f"region {group.location} -> {settings.azure.location}")
    if group.container_count != 1 or (group.container_name and group.container_name != name):
        recreate.append(f"one container named {name}")
    if recreate:
        return Action(
            "container_group",
            name,
            "recreate",
            "; ".join(recreate) + ": ARM cannot change it in place",
        )
    if group.provisioning_state.lower() == "failed":
        return Action(
            "container_group", name, "recreate", "its last deployment failed: ARM cannot update it"
        )
    update: list[str] = []
    if not same_image(group.image, want.image):
        update.append(f"image {group.image or '?'} -> {want.image}")
    if (group.registry_server or None) != want.registry_server or (
        group.registry_username or None
    ) != (want.registry_username):
        update.append(f"registry credentials for {want.registry_server or 'no registry'}")
    if group.env_names != want.env_names or any(
        group.env.get(k) != v for k, v in want.plain_env.items()
    ):
        update.append("environment variables")
    if fingerprint is not None and group.tags.get(FINGERPRINT_TAG) != fingerprint:
        update.append("Numerai keys, model ids or registry password changed")
    if update:
        return Action("container_group", name, "update", "; ".join(update))
    return Action(
        "container_group",
        name,
        "keep",
        f"{group.image}, {_num(group.cpu)} vCPU, {_num(group.memory_gb)} GB as asked",
    )


def _workflow_action(settings: Settings, workflow: ObservedWorkflow | None) -> Action:
    a = settings.azure
    mode = a.trigger
    name = a.logic_app
    if workflow is None:
        return Action("workflow", name, "create", f"Logic App with an HTTP trigger ({mode})")
    reasons = logic_workflow.definition_differences(
        workflow.definition,
        logic_workflow.definition(
            mode, a.subscription_id, a.resource_group, a.container_group, a.cloud
        ),
    )
    want_params = logic_workflow.workflow_parameters(
        mode, a.subscription_id, a.resource_group, a.location
    )
    if mode == logic_workflow.API_CONNECTION and logic_workflow.connections_differ(
        workflow.parameters, want_params
    ):
        reasons.append("the $connections binding differs")
    if (
        mode == logic_workflow.MANAGED_IDENTITY
        and (workflow.identity_type or "").lower() != "systemassigned"
    ):
        reasons.append("needs a system-assigned identity")
    if reasons:
        return Action("workflow", name, "update", "; ".join(reasons))
    return Action("workflow", name, "keep", "definition unchanged")


def compute_plan(
    settings: Settings,
    observed: Observed,
    secrets_fingerprint: str | None = None,
    *,
    adopt: bool = False,
) -> Plan:
    """Azure resources only; the pipeline appends the ``image`` and ``webhook`` actions.

    A same-named resource without our tag is kept ("exists, not created by this tool")
    unless ``adopt``: then it is taken over (tagged, and changed as the settings say).
    """
    a = settings.azure
    actions: list[Action] = []
    rg = observed.resource_group
    if rg is None:
        actions.append(Action("resource_group", a.resource_group, "create", f"in {a.location}"))
    else:
        ours = rg.tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE
        actions.append(
            Action(
                "resource_group",
                a.resource_group,
                "keep",
                "exists" + (" (created by this tool)" if ours else ""),
            )
        )
    group = observed.container_group
    group_action = _group_action(settings, group, secrets_fingerprint)
    if group is not None:
        group_action = _owned(group_action, is_ours(group.tags), adopt)
    actions.append(group_action)
    if a.trigger == logic_workflow.API_CONNECTION:
        conn = observed.connection
        if conn is None:
            actions.append(
                Action(
                    "api_connection",
                    logic_workflow.CONNECTION_NAME,
                    "create",
                    "needs one sign-in in the portal",
                )
            )
        else:
            status = conn.status or "unknown"
            reason = (
                "exists and is authorized"
                if status.lower() == "connected"
                else f"exists, not authorized yet (status {status}): deploy shows the one manual step"
            )
            keep = Action("api_connection", logic_workflow.CONNECTION_NAME, "keep", reason)
            actions.append(_owned(keep, is_ours(conn.tags), adopt))
    elif observed.connection is not None:
        unused = Action(
            "api_connection",
            logic_workflow.CONNECTION_NAME,
            "delete",
            "not used in managed-identity mode",
        )
        actions.append(_owned(unused, is_ours(observed.connection.tags), adopt))
    workflow_action = _workflow_action(settings, observed.workflow)
    workflow_ours = observed.workflow is None or is_ours(observed.workflow.tags)
    if observed.workflow is not None:
        workflow_action = _owned(workflow_action, workflow_ours, adopt)
    actions.append(workflow_action)
    if not workflow_ours and not adopt:
        # the role assignment of someone else's Logic App is theirs too: plan nothing for it
        if observed.role_assignment is not None:
            actions.append(
                Action(
                    "role_assignment",
                    observed.role_assignment.name,
                    "keep",
                    f"{NOT_OURS} (it belongs to Logic App {a.logic_app})",
                )
            )
        return Plan(actions)
    if a.trigger == logic_workflow.MANAGED_IDENTITY:
        ra = observed.role_assignment
        wf = observed.workflow
        principal = wf.principal_id if wf else None
        role = "Azure Container Instances Contributor Role"
        if ra is not None and principal and ra.principal_id == principal:
            actions.append(
                Action("role_assignment", ra.name, "keep", f"{role} on {a.resource_group}")
            )
        else:
            why = (
                "for the Logic App's identity" if principal else "for the new Logic App's identity"
            )
            actions.append(
                Action(
                    "role_assignment", role_assignment_label(settings), "create", f"{role} {why}"
                )
            )
    elif observed.role_assignment is not None:
        actions.append(
            Action(
                "role_assignment",
                observed.role_assignment.name,
                "delete",
                "not used in api-connection mode (the Logic App loses its identity)",
            )
        )
    return Plan(actions)


#: the reason of a group update that only stops the run the last deploy could not stop
STOP_LEFTOVER = "stop the run left from the last deploy"
#: ... or that a deploy interrupted around the create never stopped (Ctrl+C, SIGTERM, a kill)
STOP_INTERRUPTED = "stop the run left from an interrupted deploy"
#: the reasons of an update that is only the stop after create, done late
STOP_REASONS = frozenset({STOP_LEFTOVER, STOP_INTERRUPTED})
_RUNNING = frozenset({"running", "pending", "waiting", "creating", "repairing", "updating"})


def leftover_run(
    action: Action,
    group: ObservedContainerGroup | None,
    stop_pending: bool,
    reason: str = STOP_LEFTOVER,
) -> Action:
    """A group the last deploy created or updated but did not stop (its stop failed, or the
    deploy was interrupted before it) and that is still running: the plan stops it, saying
    which (``reason``). Nothing else changes about it; a group that runs because Numerai
    called the webhook is not this (no stop is pending then)."""
    if (
        stop_pending
        and action.resource == "container_group"
        and action.action == "keep"
        and group is not None
        and group.state.lower() in _RUNNING
    ):
        return Action(action.resource, action.name, "update", reason)
    return action


def reconcile(approved: Plan, fresh: Plan) -> Plan:
    """The approved plan, except where the world moved since: something it would keep that
    is gone now is created (a stale "keep" must not leave a hole)."""
    out: list[Action] = []
    for action in approved.actions:
        now = fresh.for_resource(action.resource)
        if action.action == "keep" and now is not None and now.action == "create":
            out.append(now)
        else:
            out.append(action)
    seen = {a.resource for a in out}
    out.extend(a for a in fresh.actions if a.resource not in seen)
    return Plan(out)


def role_assignment_label(settings: Settings) -> str:
    """A stable display name until the real (uuid5) name is known from the identity."""
    return f"{settings.azure.logic_app} -> {settings.azure.resource_group}"


# --- the image and the webhook: decided here, acted on by the pipeline -------------------


def image_action(
    settings: Settings,
    *,
    last_image: str,
    last_context_hash: str,
    last_digest: str,
    context_hash: str | None,
    context_problem: str = "",
) -> Action:
    """Build and push, or keep the image: from the last successful push and the context's hash.

    ``context_hash`` None: the build context could not be read (``context_problem`` says why).
    """
    d = settings.docker
    if not d.build:
        return Action(
            "image",
            d.image,
            "keep",
            "use the existing image as it is (checked in the registry at deploy)",
        )
    built = image_detail(settings)
    if context_hash is None:
        return Action("image", d.image, "update", f"build and push ({context_problem}){built}")
    if last_image == d.image and last_context_hash == context_hash and last_digest:
        return Action(
            "image",
            d.image,
            "keep",
            f"build context unchanged since the last push ({last_digest[:19]}){built}",
        )
    if last_digest and last_image == d.image:
        return Action(
            "image",
            d.image,
            "update",
            f"the build context changed: build and push a new image{built}",
        )
    return Action("image", d.image, "create", f"build the image and push it{built}")


def image_detail(settings: Settings) -> str:
    """What the settings make of a built image: its Python (or base) and the data version."""
    base = settings.docker.base_image.strip()
    what = f"base {base}" if base else f"Python {settings.docker.python}"
    version = settings.numerai.data_version.strip()
    return f" ({what}, data {version})" if version else f" ({what})"


def pushed_again(decided: Action, pushed: bool, image: str) -> Action:
    """A "keep" decided before the build that ended in a push after all (the tag had moved)."""
    if pushed and decided.action == "keep":
        return Action(
            "image", image, "update", "the registry's tag had changed: built and pushed again"
        )
    return decided


def model_label(model_id: str, names: Mapping[str, str] | None = None, own_name: str = "") -> str:
    """A model as people know it: its Numerai name when known, else its id."""
    if names:
        for name, mid in names.items():
            if mid.lower() == model_id.lower():
                return name
    return own_name or model_id


def webhook_to_clear(settings: Settings, registered_model_id: str) -> str | None:
    """The model that holds this Logic App's webhook from an earlier run, when it is no longer
    the first model: its webhook is cleared (two models calling would mean two calls a round)."""
    first = settings.numerai.model_id
    if not settings.numerai.register_webhook or not registered_model_id or not first:
        return None
    return None if registered_model_id.lower() == first.lower() else registered_model_id


def webhook_actions(
    settings: Settings,
    url: str | None,
    *,
    registered_model_id: str,
    registered_fingerprint: str,
    names: Mapping[str, str] | None = None,
) -> list[Action]:
    """One ``webhook`` action per model, the holder first.

    The Logic App's URL is the webhook of the first model only: Numerai calls it once a
    round, one container run submits for every model. Any other model that holds it from an
    earlier run is cleared; the others are kept, served by the first model's call.
    """
    n = settings.numerai
    first = n.model_id

    def label(model_id: str) -> str:
        return model_label(model_id, names, n.model_name if model_id == first else "")

    holder = label(first)
    if not n.register_webhook:
        head = Action(
            "webhook",
            holder,
            "keep",
            "not registered by this tool (register_webhook = false): paste the URL yourself",
        )
    elif url and registered_model_id == first and registered_fingerprint == fingerprint(url):
        head = Action("webhook", holder, "keep", "Numerai already has this Logic App's URL")
    elif url and registered_model_id == first:
        head = Action("webhook", holder, "update", "the Logic App's URL changed: register it again")
    else:
        head = Action(
            "webhook", holder, "create", "register the Logic App's URL as the model's webhook"
        )
    actions = [head]
    old = webhook_to_clear(settings, registered_model_id)
    if old is not None:
        actions.append(
            Action(
                "webhook",
                label(old),
                "delete",
                f"holds this Logic App's webhook from an earlier run: cleared, {holder} holds it now",
            )
        )
    served = f"served by {holder}'s webhook: one run submits for all models"
    actions += [
        Action("webhook", label(m), "keep", served)
        for m in n.model_ids[1:]
        if old is None or m.lower() != old.lower()
    ]
    return actions


def fingerprint(text: str) -> str:
    """sha256 of a value that must not be stored (the webhook URL): tells "changed" without it."""
    return hashlib.sha256(text.encode()).hexdigest()
