"""Step 6: every answer judged together, the plan (what deploy would change) and the cost."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ... import redact, runlock
from ...events import ErrorCode, Event, LogLine, StepStarted, WizardError, ignore
from ...plan import Plan
from ...present import failure_lines
from ...settings import FIELDS, SECRET_FIELDS, needs_registry_login, validate
from ..messages import (
    CostEstimated,
    PipelineEvent,
    PlanFailed,
    PlanMade,
    RehearsalFailed,
    Rehearsed,
    failure_text,
    report,
)
from ..style import styled
from .azure import endpoint_warning
from .base import StepScreen

ACTION_STYLE = {
    "keep": "dim",
    "create": "green",
    "update": "yellow",
    "recreate": "bold yellow",
    "delete": "bold red",
}


#: what a plan row's resource is called on screen (``plan --json`` keeps the stable names)
RESOURCE_LABEL = {
    "image": "Image",
    "resource_group": "Resource group",
    "container_group": "Container group",
    "api_connection": "API connection",
    "workflow": "Logic App",
    "role_assignment": "Role assignment",
    "webhook": "Webhook",
}


def plan_table(plan: Plan) -> Table:
    """The plan as a table whose names and reasons wrap (a reason is the part a user reads):
    every row is shown, at any width, and the body scrolls when they do not fit."""
    table = Table(expand=True, box=None, header_style="bold", pad_edge=False)
    table.add_column("Resource", no_wrap=True)
    table.add_column("Name", overflow="fold", max_width=24)
    table.add_column("Action", no_wrap=True)
    table.add_column("Reason", ratio=1, overflow="fold")
    for a in plan.actions:
        table.add_row(
            RESOURCE_LABEL.get(a.resource, a.resource),
            a.name,
            a.action,
            a.reason,
            style=ACTION_STYLE.get(a.action, ""),
        )
    return table


def count(n: int, noun: str) -> str:
    """ "1 change", "2 changes" (never "1 change(s)")."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class ReviewScreen(StepScreen):
    STEP = "review"
    HEADING = "Review the plan"
    NEXT_LABEL = "Deploy"
    plan: Plan | None = None

    def body(self) -> ComposeResult:
        w = self.wizard
        a, d, n = w.settings.azure, w.settings.docker, w.settings.numerai
        names = {mid.lower(): name for name, mid in w.session.found.models.items()}
        if n.model_name and n.model_id:
            names.setdefault(n.model_id.lower(), n.model_name)
        models = [names.get(m.lower(), m) for m in n.model_ids]
        said = (
            f"Model {models[0]}"
            if len(models) == 1
            else f"Models {', '.join(models)} (one run submits for each; {models[0]}'s webhook "
            "starts it)"
            if models
            else "Model: none chosen"
        )
        yield Static(
            f"{said}\n"
            f"Azure: {a.resource_group}/{a.container_group} in {a.location}, "
            f"{a.memory_gb:g} GB, {a.cpu:g} vCPU, trigger {a.trigger}\n"
            f"Image {d.image} ({'build and push' if d.build else 'use as it is'})",
            id="summary",
            classes="para",
        )
        if moved := self.left_behind():
            yield Static(moved, id="left-behind", classes="notes")
        if warning := endpoint_warning(w.settings):
            yield Static(f"! {warning}", id="endpoint", classes="notes")
        yield Static("", id="problems", classes="notes")
        yield Static("", id="locked", classes="error")
        yield Static("Planning: comparing the settings with Azure...", id="plan-status")
        yield Static("", id="plan")
        yield Static("", id="cost", classes="muted")
        with Horizontal(classes="row"):
            yield Button("Rehearse locally first", id="rehearse")
            yield Static(
                "Runs the image on this machine's Docker with the same settings and checks "
                "that Numerai accepts the submission, before any round counts.",
                id="rehearsal",
                classes="muted",
            )

    def left_behind(self) -> str:
        """A re-run that moves the pipeline to another resource group (or subscription)
        builds a new set there: the old one stays, and the user should know where."""
        saved = self.wizard.saved_place
        a = self.wizard.settings.azure
        if saved is None or saved == (a.subscription_id, a.resource_group):
            return ""
        subscription, group = saved
        where = f"resource group {group}" + (
            f" (subscription {subscription})" if subscription != a.subscription_id else ""
        )
        return (
            f"! The saved settings put the pipeline in {where}. Deploy sets up a new one in "
            f"{a.resource_group}; the old resources stay as they are. Once the new one works, "
            f"delete them in the Azure portal (Resource groups > {group}) or with "
            f"`az group delete --name {group}` if nothing else lives there."
        )

    def problems(self) -> dict[str, str]:
        """Everything that would stop deploy before it starts, by the field to fix."""
        w = self.wizard
        found = w.session.found
        limits = found.limits if found.limits_for == w.settings.azure.location else None
        out: dict[str, str] = {}
        needed = ["numerai_public_id", "numerai_secret_key"]
        if needs_registry_login(w.settings):
            needed.append("docker_password")
        for spec in SECRET_FIELDS:
            if spec.name in needed and (reason := spec.check(getattr(w.secrets, spec.name))):
                out.setdefault(spec.name, reason)
        refused = w.refused_keys.get((w.secrets.numerai_public_id, w.secrets.numerai_secret_key))
        if refused:
            out.setdefault("numerai_public_id", refused)
        for problem in validate(w.settings, limits):
            out.setdefault(problem.key, problem.reason)
        return out

    def locked(self) -> WizardError | None:
        """The refusal deploy would meet: another run holds this resource group's lock."""
        holder = runlock.holder(self.wizard.settings)
        return None if holder is None else runlock.refusal(self.wizard.settings, holder)

    def _show_locked(self, error: WizardError | None) -> None:
        shown = self.query_one("#locked", Static)
        shown.display = error is not None
        if error is not None:
            shown.update(failure_text(error))

    def on_mount(self) -> None:
        self._show_locked(self.locked())
        problems = self.problems()
        status = self.query_one("#problems", Static)
        if problems:
            labels = {f.key: f.label for f in FIELDS} | {s.name: s.label for s in SECRET_FIELDS}
            status.update(
                "Fix these first (Deploy takes you to the first one):\n"
                + "\n".join(f"! {labels.get(k, k)}: {r}" for k, r in problems.items())
            )
            self.query_one("#plan-status", Static).update("No plan until the answers are complete.")
            self.query_one("#next", Button).label = "Fix the first problem"
            self.query_one("#rehearse", Button).disabled = True  # it needs complete answers
        else:
            status.display = False
            self._plan()
        self._cost()
        self.query_one("#next", Button).focus()

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def _plan(self) -> None:
        pipeline = self.wizard.pipeline(ignore)
        report(self, PlanFailed, lambda: PlanMade(pipeline.plan()))

    @on(PlanMade)
    def _planned(self, message: PlanMade) -> None:
        plan = self.plan = message.plan
        self.query_one("#plan", Static).update(plan_table(plan))
        changes = len(plan.changes)
        rows = len(plan.actions)
        self.query_one("#plan-status", Static).update(
            "Nothing to change: Deploy re-checks and shows the webhook URL."
            if not changes
            else f"Deploy makes {count(changes, 'change')}"
            + (f", {rows - changes} kept as is" if rows > changes else "")
            + f" ({count(rows, 'row')} below):"
        )

    @on(PlanFailed)
    def _plan_failed(self, message: PlanFailed) -> None:
        error = message.error
        if error.code == ErrorCode.CANCELLED:
            text = styled(failure_lines("Planning was cancelled."))
        else:
            text = failure_text(error)
        status = self.query_one("#plan-status", Static)
        status.update(text)
        status.add_class("error")

    @work(thread=True, exclusive=True, group="cost", exit_on_error=False)
    def _cost(self) -> None:
        w = self.wizard
        a = w.settings.azure
        try:
            lines = w.session.estimate(
                a.location or "eastus", a.cpu, a.memory_gb, run_minutes=w.run_minutes
            ).lines(models=len(w.settings.numerai.model_ids))
        except WizardError as exc:
            lines = [str(exc)]
        self.post_message(CostEstimated(lines))

    @on(CostEstimated)
    def _show_cost(self, message: CostEstimated) -> None:
        self.query_one("#cost", Static).update("Cost: " + "\n".join(message.lines[:2]))

    # --- the local rehearsal ---------------------------------------------------------

    @on(Button.Pressed, "#rehearse")
    def _rehearse_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        event.button.disabled = True
        self.query_one("#rehearsal", Static).update("Rehearsing: starting...")
        self._rehearse()

    @work(thread=True, exclusive=True, group="rehearse", exit_on_error=False)
    def _rehearse(self) -> None:
        def emit(event: Event) -> None:
            if isinstance(event, StepStarted | LogLine):
                self.post_message(PipelineEvent(event))

        pipeline = self.wizard.pipeline(emit)
        report(self, RehearsalFailed, lambda: Rehearsed(pipeline.rehearse()))

    @on(PipelineEvent)
    def _rehearsal_progress(self, message: PipelineEvent) -> None:
        event = message.event
        said = event.title if isinstance(event, StepStarted) else getattr(event, "text", "")
        if said.strip():
            self.query_one("#rehearsal", Static).update(
                Text(redact.shown(f"Rehearsing: {said.strip()}"))
            )

    @on(Rehearsed)
    def _rehearsed(self, message: Rehearsed) -> None:
        label = self.query_one("#rehearsal", Static)
        label.update(Text("The rehearsal passed:\n" + "\n".join(message.result.lines())))
        label.remove_class("error")
        self.query_one("#rehearse", Button).disabled = False

    @on(RehearsalFailed)
    def _rehearsal_failed(self, message: RehearsalFailed) -> None:
        error = message.error
        label = self.query_one("#rehearsal", Static)
        label.update(failure_text(error))
        label.add_class("error")
        self.query_one("#rehearse", Button).disabled = False

    def action_next(self) -> None:
        busy = self.locked()
        self._show_locked(busy)
        if busy is not None:  # the same refusal deploy gives (exit 2 headless)
            self.notify(busy.message, title="One run at a time", severity="error")
            return
        problems = self.problems()
        if problems:
            key, reason = next(iter(problems.items()))
            self.wizard.goto_field(key, reason)
            return
        self.wizard.goto("deploy")
