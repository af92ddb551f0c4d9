"""Step 8: the webhook URL to copy, whether Numerai has it, what changed, and any manual step."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static
from textual.worker import get_current_worker

from ... import redact
from ...present import (
    WEBHOOK_URL_LABEL,
    changed_line,
    connection_check_line,
    history_unread,
    next_step_lines,
    no_manual_step,
    numerai_lines,
)
from ..messages import (
    ConnectionChecked,
    ConnectionFailed,
    HistoryFailed,
    HistoryRead,
    failure_text,
    report,
)
from ..style import styled
from ..widgets.history import history_text
from .base import StepScreen
from .review import RESOURCE_LABEL


class DoneScreen(StepScreen):
    STEP = "done"
    HEADING = "Done"

    #: seconds between two reads of the API connection's status
    poll_seconds: float = 5.0
    #: webhook calls shown under the result
    history_rows: int = 5

    def body(self) -> ComposeResult:
        w = self.wizard
        result = w.result
        if result is None:
            yield Static(
                "Nothing deployed yet: go back to Review and press Deploy.", classes="para"
            )
            return
        yield Static(WEBHOOK_URL_LABEL, classes="field-label")
        yield Static(Text(redact.escape_controls(result.webhook_url)), id="webhook-url")
        with Horizontal(classes="row"):
            yield Button("Copy URL", id="copy-url", variant="primary")
        yield Static(styled(numerai_lines(result)), id="numerai-status", classes="para")
        changed = changed_line(result.changed, labels=RESOURCE_LABEL, earlier=w.changes_made)
        yield Static(styled([changed]), id="changed", classes="para")
        for note in result.notes:
            yield Static(Text(note), classes="para muted")
        next_steps = next_step_lines(result, indent="", check=False)
        yield Static(styled(next_steps), id="manual", classes="para")
        if result.manual_steps:
            with Horizontal(classes="row"):
                yield Button("Copy portal link", id="copy-link")
                yield Button("Check connection", id="check-connection", variant="primary")
                yield Static("", id="connection-status")
        yield Static("Last webhook calls (numerai-aci-wizard history):", classes="field-label")
        yield Static("Reading the Logic App's run history...", id="history", classes="para")

    def nav_buttons(self) -> ComposeResult:
        yield Button("Back", id="back")
        yield Button("Finish", id="finish", variant="success")

    def on_mount(self) -> None:
        if self.wizard.result is not None:
            # a worker takes turns with the screen's thread: drawing the step comes first
            self.call_after_refresh(self._history)
        for selector in ("#copy-url", "#finish"):
            if self.query(selector):
                self.query_one(selector, Button).focus()
                return

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _history(self) -> None:
        session = self.wizard.session
        report(self, HistoryFailed, lambda: HistoryRead(session.history(self.history_rows)))

    @on(HistoryRead)
    def _show_history(self, message: HistoryRead) -> None:
        self.query_one("#history", Static).update(history_text(message.history, self.history_rows))

    def keep_answers(self) -> dict[str, str]:
        return {}

    def action_back(self) -> None:
        self.wizard.goto("review")

    def action_next(self) -> None:
        self.wizard.leave(0)

    @on(Button.Pressed, "#copy-url")
    def _copy_url(self, event: Button.Pressed) -> None:
        event.stop()
        result = self.wizard.result
        if result is None:
            return
        self.app.copy_to_clipboard(result.webhook_url)
        self.notify(
            "Asked the terminal to copy the URL (OSC 52; many terminals ignore it). It is "
            "also printed in the terminal when you press Finish, and "
            "`numerai-aci-wizard status` prints it any time."
        )

    @on(Button.Pressed, "#copy-link")
    def _copy_link(self, event: Button.Pressed) -> None:
        event.stop()
        result = self.wizard.result
        if result is None or result.connection is None:
            return
        self.app.copy_to_clipboard(result.connection.portal_link)
        self.notify(
            "Asked the terminal to copy the link (OSC 52; many terminals ignore it). The "
            "steps are also printed in the terminal when you press Finish."
        )

    @on(Button.Pressed, "#check-connection")
    def _check_connection(self, event: Button.Pressed) -> None:
        event.stop()
        event.button.disabled = True
        self.query_one("#connection-status", Static).update("Checking...")
        self._poll()

    @on(Button.Pressed, "#finish")
    def _finish(self, event: Button.Pressed) -> None:
        event.stop()
        self.wizard.leave(0)

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def _poll(self) -> None:
        """Read the connection's status until it reads Connected (or the screen goes away)."""
        worker = get_current_worker()

        def poll() -> None:
            azure = self.wizard.session.azure()
            while not worker.is_cancelled:
                status = azure.connection_status()
                self.post_message(ConnectionChecked(status))
                if status.connected:
                    return
                deadline = time.monotonic() + self.poll_seconds
                while time.monotonic() < deadline and not worker.is_cancelled:
                    time.sleep(0.05)

        report(self, ConnectionFailed, poll)

    @on(ConnectionChecked)
    def _status(self, message: ConnectionChecked) -> None:
        said = connection_check_line(message.status, self.poll_seconds)
        self.query_one("#connection-status", Static).update(styled([said]))
        if message.status.connected:
            done = no_manual_step(managed_identity=False)
            self.query_one("#manual", Static).update(styled([done]))
            self.query_one("#finish", Button).focus()

    @on(HistoryFailed)
    def _history_failed(self, message: HistoryFailed) -> None:
        self.query_one("#history", Static).update(styled(history_unread(message.error)))

    @on(ConnectionFailed)
    def _check_failed(self, message: ConnectionFailed) -> None:
        error = message.error
        self.query_one("#connection-status", Static).update(failure_text(error))
        button = self.query_one("#check-connection", Button)
        button.disabled = False
        button.focus()
