"""Step 7: the pipeline runs; its events become a steps list, progress bars and a log pane.

The pipeline runs in a thread worker with a cancel ``threading.Event``; its ``emit``
posts each event to this screen (``post_message`` is thread safe), so no widget is
touched from the thread. A failure stays on this screen with the message, the hint,
Retry and Back: every answer is still in the app.
"""

from __future__ import annotations

import threading

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Button, Label, ProgressBar, RichLog, Static

from ... import redact
from ... import secrets as secret_sources
from ...events import (
    ErrorCode,
    Event,
    LogLine,
    Planned,
    Progress,
    Removed,
    StepFailed,
    StepFinished,
    StepStarted,
    WizardError,
)
from ...present import (
    Line,
    StepRow,
    azure_left,
    event_lines,
    run_failure_lines,
    step_lines,
    texts,
)
from ..messages import Deployed, DeployFailed, PipelineEvent, report
from ..style import styled
from .base import StepScreen


class DeployScreen(StepScreen):
    STEP = "deploy"
    HEADING = "Deploying"

    #: the pipeline is under way (Back and Next wait; Cancel is offered)
    running: reactive[bool] = reactive(False, init=False, bindings=True)
    #: what the Cancel button says once a stop was asked for ("" while none was)
    stopping: reactive[str] = reactive("", init=False)
    #: the failure the last run ended with (shown with Retry), None while there is none
    failure: reactive[WizardError | None] = reactive(None, init=False)
    #: the run's steps in the order they began: step -> (state, title, summary)
    steps: reactive[dict[str, StepRow]] = reactive(dict, init=False)

    def __init__(self, focus: str | None = None, reason: str | None = None) -> None:
        super().__init__(focus, reason)
        self.cancel = threading.Event()
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

    # --- what the state shows --------------------------------------------------------

    def _buttons(self) -> None:
        cancel = self.query_one("#cancel", Button)
        cancel.disabled = not self.running or bool(self.stopping)
        cancel.label = self.stopping or "Cancel"
        self.query_one("#back", Button).disabled = self.running
        self.query_one("#next", Button).disabled = self.running or self.wizard.result is None
        self.query_one("#retry").display = self.failure is not None and not self.running

    watch_running = watch_stopping = _buttons

    def watch_failure(self, error: WizardError | None) -> None:
        failure = self.query_one("#failure", Static)
        failure.display = error is not None
        self._buttons()
        if error is None:
            return
        failure.update(styled(run_failure_lines(error, self.gone)))
        self.query_one("#retry", Button).focus()
        failure.scroll_visible()

    def watch_steps(self, steps: dict[str, StepRow]) -> None:
        lines = step_lines(steps)
        self.query_one("#steps-text", Static).update(styled(lines) if steps else "Starting...")
        self.query_one("#steps", VerticalScroll).scroll_end(animate=False)

    # --- the run -------------------------------------------------------------------

    def start(self) -> None:
        self.cancel = threading.Event()
        self.gone.clear()
        self.resizing = False
        self.wizard.result = None  # an earlier run's result no longer says what Azure holds
        self.wizard.interrupted = []
        self.failure = None
        self.stopping = ""
        self.running = True
        self.query_one("#cancel", Button).focus()
        for step in ("build", "push"):  # a Retry starts the bars afresh
            bar = self.query_one(f"#{step}-progress", ProgressBar)
            bar.update(total=None, progress=0)
            bar.display = True
            self.query_one(f"#{step}-label", Label).update(step.capitalize())
        self.steps = {}
        self.mutate_reactive(DeployScreen.steps)  # "Starting..." even when it was empty
        self.deploy()

    @work(thread=True, exclusive=True, exit_on_error=False, group="deploy")
    def deploy(self) -> None:
        w = self.wizard
        if w.settings.secrets.keyring:
            self.post_message(PipelineEvent(LogLine("keyring", secret_sources.remember(w.secrets))))

        def emit(event: Event) -> None:
            self.post_message(PipelineEvent(event))

        pipeline = w.pipeline(emit, self.cancel)
        report(self, DeployFailed, lambda: Deployed(pipeline.deploy()))

    @on(PipelineEvent)
    def _pipeline_event(self, message: PipelineEvent) -> None:
        event = message.event
        if isinstance(event, Progress):
            self._progress(event)
        elif isinstance(event, Removed):
            self.gone[event.resource] = event.name
        elif isinstance(event, Planned):
            self.resizing = any(
                a.resource == "container_group" and a.action == "recreate" for a in event.actions
            )
        elif isinstance(event, StepStarted):
            self.steps = {**self.steps, event.step: ("running", event.title, "")}
        elif isinstance(event, StepFinished):
            if event.step in self.steps:
                _, title, _ = self.steps[event.step]
                self.steps = {**self.steps, event.step: ("done", title, event.summary)}
            if event.change is not None:  # Azure was changed: the Done step lists it
                self.wizard.changes_made.append(redact.redact(event.summary))
            self.gone.pop(event.step, None)
            if not event.summary or event.step == "result":
                return
        elif isinstance(event, StepFailed):
            _, title, _ = self.steps.get(event.step, ("", event.step, ""))
            self.steps = {**self.steps, event.step: ("failed", title, event.message)}
        log = self.query_one("#log", RichLog)
        for line in event_lines(event):
            log.write(styled([line]))

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

    def _ended(self) -> None:
        self.stopping = ""
        self.running = False
        # a step the run left while it was under way did not finish: say so, not "running"
        self.steps = {name: _stopped(row) for name, row in self.steps.items()}
        # a bar that never learnt its total pulses forever (and keeps redrawing): the run is
        # over, so it says it did not run instead
        for step in ("build", "push"):
            bar = self.query_one(f"#{step}-progress", ProgressBar)
            if bar.total is None:
                bar.update(total=1, progress=0)
                bar.display = False
                self.query_one(f"#{step}-label", Label).update(f"{step.capitalize()}: not run")

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
        self.stopping = "Stopping, then quitting..."

    def azure_state(
        self, headline: str = "The deploy was stopped at a safe point before it finished."
    ) -> list[str]:
        """What the run left in Azure and what the next round will do, from the run's events."""
        return [redact.redact(line) for line in texts(azure_left(headline, self.steps, self.gone))]

    @on(Deployed)
    def _deployed(self, message: Deployed) -> None:
        self.wizard.result = message.result
        self._ended()
        if self.quitting:  # the run finished before the next safe point: all is in place
            self.wizard.leave(0)
            return
        self.query_one("#log", RichLog).write(styled([Line("Deploy finished.", "success")]))
        self.query_one("#next", Button).focus()

    @on(DeployFailed)
    def _show_failure(self, message: DeployFailed) -> None:
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
        self.failure = error

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
            state, _, _ = self.steps.get("container_group", ("", "", ""))
            if self.resizing and state == "running":  # the engine finishes the recreate first
                self.stopping = "Cancelling once the container group exists again..."
            else:
                self.stopping = "Cancelling..."

    def keep_answers(self) -> dict[str, str]:
        return {}

    def action_back(self) -> None:
        """Back to the answer the failure is about (its field), else to Review's whole plan."""
        if self.running:
            return
        error = self.failure
        if error is None or error.code == ErrorCode.CANCELLED or not error.field:
            self.wizard.goto("review")  # nothing was wrong with one answer
            return
        reason = redact.shown(error.message).split("\n")[0]
        self.wizard.goto_field(error.field, reason or None)

    def action_next(self) -> None:
        if (
            not self.running
            and self.wizard.result is not None
            and not self.query_one("#next", Button).disabled
        ):
            self.wizard.goto("done")


def _stopped(row: StepRow) -> StepRow:
    """A step as it stands once the run is over: one still running did not finish."""
    state, title, summary = row
    return ("stopped", title, summary or "not finished") if state == "running" else row
