"""Step 7: the pipeline runs; its events become a steps list, progress bars and a log pane.

The pipeline runs in a thread worker with a cancel ``threading.Event``; its ``emit``
posts each event to this screen (``post_message`` is thread safe), so no widget is
touched from the thread. A failure stays on this screen with the message, the hint,
Retry and Back: every answer is still in the app.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, ProgressBar, RichLog, Static

from ... import redact
from ... import secrets as secret_sources
from ...events import (
    ErrorCode,
    Event,
    LogLine,
    Progress,
    Removed,
    StepFailed,
    StepFinished,
    StepStarted,
)
from ..messages import Deployed, PipelineEvent, WorkFailed, report
from .base import StepScreen

#: Where "Back" after a failure takes the user: the step whose answers the failed step used.
FIX_AT = {
    "image": "docker.image",
    "build": "docker.image",
    "push": "docker.image",
    "webhook": "numerai.model_id",
}
#: Steps whose failure is not about one field: Back goes to Review, which lists any problem.
NOT_ONE_FIELD = ("checks", "")
MARKS = {"running": "…", "done": "✓", "failed": "✗", "stopped": "-"}
#: A step summary that starts with one of these says Azure was changed (else "unchanged"...).
CHANGE_VERBS = ("created", "updated", "recreated", "deleted", "granted")
#: The steps that write to Azure, as the engine names them.
AZURE_STEPS = ("resource_group", "container_group", "api_connection", "workflow", "role_assignment")
#: Steps that change nothing in Azure: left out of "what state Azure is in".
NOT_AZURE = ("checks", "image", "build", "push", "result", "keyring")


class DeployScreen(StepScreen):
    STEP = "deploy"
    HEADING = "Deploying"

    def __init__(self, focus: str | None = None, reason: str | None = None) -> None:
        super().__init__(focus, reason)
        self.cancel = threading.Event()
        self.steps: dict[str, tuple[str, str, str]] = {}  # step -> (state, title, summary)
        self.failed_step = ""
        self.failed_field = ""
        #: the last run stopped because the user cancelled it (no answer is to blame)
        self.cancelled = False
        self.running = False
        #: the user chose to quit: leave once the run has stopped at a safe point
        self.quitting = False
        #: resources the run deleted and has not created again yet (resource -> name)
        self.gone: dict[str, str] = {}
        #: the run's plan recreates the container group (a resize): a cancel waits for it
        self.resizing = False

    def body(self) -> ComposeResult:
        yield VerticalScroll(Static("Starting...", id="steps-text"), id="steps")
        with Horizontal(id="bars"):
            with Vertical(classes="bar"):
                yield Label("Build", id="build-label")
                yield ProgressBar(id="build-progress", show_eta=False)
            with Vertical(classes="bar"):
                yield Label("Push", id="push-label")
                yield ProgressBar(id="push-progress", show_eta=False)
        yield Static("", id="failure", classes="failure")
        yield RichLog(id="log", wrap=True, highlight=False, markup=False, max_lines=2000)

    def nav_buttons(self) -> ComposeResult:
        yield Button("Back", id="back", disabled=True)
        yield Button("Cancel", id="cancel", variant="error")
        yield Button("Retry", id="retry", variant="warning")
        yield Button("Continue", id="next", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#failure").display = False
        self.query_one("#retry").display = False
        if not self.wizard.settings.docker.build:
            self.query_one("#bars").display = False
        self.start()

    # --- the run -------------------------------------------------------------------

    def start(self) -> None:
        self.cancel = threading.Event()
        self.steps.clear()
        self.gone.clear()
        self.resizing = False
        self.wizard.result = None  # an earlier run's result no longer says what Azure holds
        self.wizard.interrupted = []
        self.failed_step = ""
        self.failed_field = ""
        self.cancelled = False
        self.running = True
        self.query_one("#failure").display = False
        self.query_one("#retry").display = False
        self.query_one("#cancel", Button).disabled = False
        self.query_one("#cancel", Button).label = "Cancel"
        self.query_one("#back", Button).disabled = True
        self.query_one("#next", Button).disabled = True
        self.query_one("#cancel", Button).focus()
        for step in ("build", "push"):  # a Retry starts the bars afresh
            bar = self.query_one(f"#{step}-progress", ProgressBar)
            bar.update(total=None, progress=0)
            bar.display = True
            self.query_one(f"#{step}-label", Label).update(step.capitalize())
        self._render_steps()
        self.refresh_bindings()
        self.deploy()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def deploy(self) -> None:
        w = self.wizard
        if w.settings.secrets.keyring:
            self.post_message(PipelineEvent(LogLine("keyring", secret_sources.remember(w.secrets))))

        def emit(event: Event) -> None:
            self.post_message(PipelineEvent(event))

        pipeline = w.pipeline(emit, self.cancel)
        report(self, "deploy", lambda: Deployed(pipeline.deploy()))

    @on(PipelineEvent)
    def _pipeline_event(self, message: PipelineEvent) -> None:
        event = message.event
        log = self.query_one("#log", RichLog)
        if isinstance(event, StepStarted):
            self.steps[event.step] = ("running", event.title, "")
            log.write(Text(redact.shown(f"-> {event.title}")))
        elif isinstance(event, StepFinished):
            if event.step in self.steps:
                _, title, _ = self.steps[event.step]
                self.steps[event.step] = ("done", title, event.summary)
            if event.summary and event.step != "result":
                log.write(Text(redact.shown(f"ok {event.summary}")))
            if event.step not in NOT_AZURE and event.summary.split(" ")[0] in CHANGE_VERBS:
                self.wizard.changes_made.append(redact.redact(event.summary))
            self.gone.pop(event.step, None)
            if event.step == "plan":
                actions = event.data.get("plan", {}).get("actions", [])
                self.resizing = any(
                    a.get("resource") == "container_group" and a.get("action") == "recreate"
                    for a in actions
                )
        elif isinstance(event, Removed):
            self.gone[event.resource] = event.name
        elif isinstance(event, StepFailed):
            _, title, _ = self.steps.get(event.step, ("", event.step, ""))
            self.steps[event.step] = ("failed", title, event.message)
            self.failed_step = self.failed_step or event.step
            log.write(Text(redact.shown(f"xx {event.message}"), style="bold red"))
        elif isinstance(event, LogLine):
            style = "yellow" if event.level == "warning" else ""
            for line in event.text.rstrip("\n").splitlines() or [""]:
                log.write(Text(redact.shown(line), style=style))
        elif isinstance(event, Progress):
            self._progress(event)
        if isinstance(event, StepStarted | StepFinished | StepFailed):
            self._render_steps()  # a build's flood of log lines and progress leaves it as is

    def _progress(self, event: Progress) -> None:
        if event.step not in ("build", "push") or event.total <= 0:
            return
        bar = self.query_one(f"#{event.step}-progress", ProgressBar)
        bar.update(total=event.total, progress=min(event.done, event.total))
        label = self.query_one(f"#{event.step}-label", Label)
        if event.unit == "steps":
            label.update(f"Build: step {event.done:.0f} of {event.total:.0f}")
        else:
            label.update(f"Push: {event.amount()}")

    def _render_steps(self) -> None:
        lines = Text()
        for state, title, summary in self.steps.values():
            mark = MARKS.get(state, " ")
            style = {"done": "green", "failed": "bold red", "running": "bold"}.get(state, "")
            lines.append(f"{mark} {title}", style=style)
            if summary:
                lines.append(
                    f": {redact.shown(summary)}", style="dim" if state == "done" else style
                )
            lines.append("\n")
        lines.rstrip()
        self.query_one("#steps-text", Static).update(lines if self.steps else "Starting...")
        self.query_one("#steps", VerticalScroll).scroll_end(animate=False)

    def _ended(self) -> None:
        self.running = False
        cancel = self.query_one("#cancel", Button)
        cancel.disabled = True
        cancel.label = "Cancel"
        self.query_one("#back", Button).disabled = False
        # a step the run left while it was under way did not finish: say so, not "running"
        for name, (state, title, summary) in list(self.steps.items()):
            if state == "running":
                self.steps[name] = ("stopped", title, summary or "not finished")
        self._render_steps()
        # a bar that never learnt its total pulses forever (and keeps redrawing): the run is
        # over, so it says it did not run instead
        for step in ("build", "push"):
            bar = self.query_one(f"#{step}-progress", ProgressBar)
            if bar.total is None:
                bar.update(total=1, progress=0)
                bar.display = False
                self.query_one(f"#{step}-label", Label).update(f"{step.capitalize()}: not run")
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the run changes Azure, the footer offers neither Back nor Next (they do nothing)."""
        if action in ("back", "next") and self.running:
            return False
        return not (action == "next" and self.wizard.result is None)

    def on_resize(self) -> None:
        """The log keeps following the newest line after the terminal changes size."""
        self.call_after_refresh(self.query_one("#log", RichLog).scroll_end, animate=False)

    def stop_and_quit(self) -> None:
        """Quit confirmed mid-run: cancel at the next safe point, then leave saying where Azure is.

        The run may have ended while the question was open: then leave at once."""
        self.quitting = True
        if not self.running:
            self.wizard.leave(0 if self.wizard.result is not None else 1)
            return
        self.action_cancel_run()
        self.query_one("#cancel", Button).label = "Stopping, then quitting..."

    def azure_state(
        self, headline: str = "The deploy was stopped at a safe point before it finished."
    ) -> list[str]:
        """What the run left in Azure and what the next round will do, from the run's events."""
        lines = [headline, "Azure now:"]
        for name, (state, title, summary) in self.steps.items():
            if name not in AZURE_STEPS:
                continue
            if name in self.gone:
                lines.append(f"  deleted       {title}: not created again")
            elif state == "done":
                lines.append(f"  done          {title}" + (f": {summary}" if summary else ""))
            else:
                lines.append(f"  not finished  {title}")
        if len(lines) == 2:
            lines[1] = "Azure now: nothing was changed."
        lines.extend(self.next_round())
        return [redact.redact(line) for line in lines]

    def next_round(self) -> list[str]:
        """What the next round will do, as far as the run's events tell."""
        group = self.gone.get("container_group")
        if group:
            return [
                f"The container group {group} was deleted for the resize and not re-created: "
                "the next round will fail until you run the wizard (or `numerai-aci-wizard "
                "deploy`) again.",
            ]
        return [
            "Run `numerai-aci-wizard` (or `numerai-aci-wizard deploy`) again: it continues from "
            "what exists and repairs the rest."
        ]

    @on(Deployed)
    def _deployed(self, message: Deployed) -> None:
        self._ended()
        self.wizard.result = message.result
        if self.quitting:  # the run finished before the next safe point: all is in place
            self.wizard.leave(0)
            return
        self.query_one("#log", RichLog).write(Text("Deploy finished.", style="bold green"))
        button = self.query_one("#next", Button)
        button.disabled = False
        button.focus()

    @on(WorkFailed)
    def _show_failure(self, message: WorkFailed) -> None:
        self._ended()
        error = message.error
        self.wizard.interrupted = (
            self.azure_state()
            if error.code == ErrorCode.CANCELLED
            else self.azure_state(f"The deploy failed: {error.message}")
        )
        if self.quitting:
            self.wizard.leave(1)
            return
        if error.code == ErrorCode.CANCELLED:
            headline = "Cancelled: stopped at a safe point."
            hint = "Retry continues from what exists; nothing you typed is lost."
        else:
            headline, hint = error.message, error.hint
        if "container_group" in self.gone:
            hint = " ".join([*self.next_round(), hint]).strip()
        self.failed_field = error.field
        self.cancelled = error.code == ErrorCode.CANCELLED
        text = Text()
        text.append("✗ ", style="bold red")
        text.append(redact.shown(headline), style="bold")
        if hint:
            text.append("\nWhat to do: ", style="bold")
            text.append(redact.shown(hint))
        failure = self.query_one("#failure", Static)
        failure.update(text)
        failure.display = True
        self.query_one("#retry").display = True
        self.query_one("#retry", Button).focus()
        failure.scroll_visible()

    # --- buttons -------------------------------------------------------------------

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel_run()

    @on(Button.Pressed, "#retry")
    def _retry_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.start()

    def on_unmount(self) -> None:
        """Quitting mid-run stops the pipeline at its next safe point instead of orphaning it."""
        self.cancel.set()

    def action_cancel_run(self) -> None:
        if self.running:
            self.cancel.set()
            button = self.query_one("#cancel", Button)
            state, _, _ = self.steps.get("container_group", ("", "", ""))
            if self.resizing and state == "running":  # the engine finishes the recreate first
                button.label = "Cancelling once the container group exists again..."
            else:
                button.label = "Cancelling..."
            button.disabled = True

    def keep_answers(self) -> dict[str, str]:
        return {}

    def action_back(self) -> None:
        if self.running:
            return
        if self.cancelled:  # nothing was wrong with an answer: back to the whole plan
            self.wizard.goto("review")
            return
        key = self.failed_field or FIX_AT.get(self.failed_step)
        if not key and self.failed_step not in NOT_ONE_FIELD:
            key = "azure.resource_group"  # an Azure step: the Azure answers
        failure = self.query_one("#failure", Static)
        reason = str(failure.content) if failure.display and key else None
        if key:
            self.wizard.goto_field(key, (reason or "").removeprefix("✗ ").split("\n")[0] or None)
        else:
            self.wizard.goto("review")

    def action_next(self) -> None:
        if (
            not self.running
            and self.wizard.result is not None
            and not self.query_one("#next", Button).disabled
        ):
            self.wizard.goto("done")
