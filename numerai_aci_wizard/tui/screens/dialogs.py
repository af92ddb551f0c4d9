"""Dialogs: the device-code sign-in and the log file viewer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, LoadingIndicator, Static, TextArea

from ... import redact


class DeviceCodeScreen(ModalScreen[None]):
    """Shown while azure-identity waits for the user to enter the code in a browser.

    The sign-in thread dismisses it when the sign-in ends either way; Cancel stops waiting.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        uri: str,
        code: str,
        on_cancel: Callable[[], None] | None = None,
        *,
        work_or_school_only: bool = False,
    ) -> None:
        super().__init__(name="device-code")
        self.uri = uri
        self.code = code
        self.on_cancel = on_cancel
        #: the code was asked at "organizations": a personal account would wait in vain
        self.work_or_school_only = work_or_school_only

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Sign in to Azure", classes="heading")
            yield Static(Text(f"1. Open {self.uri}"), id="device-uri")
            yield Static(Text("2. Enter the code:"))
            yield Static(Text(self.code), id="device-code-text")
            yield Static("3. Sign in with the account that owns the subscription.")
            if self.work_or_school_only:
                yield Static(
                    "A personal Microsoft account (outlook.com, hotmail.com, live.com) cannot "
                    "use this code: Cancel, switch on 'Personal Microsoft account' and give the "
                    "directory (tenant) ID, then sign in again.",
                    id="device-personal-note",
                    classes="muted",
                )
            yield LoadingIndicator(id="waiting")
            with Horizontal(classes="buttons"):
                yield Button("Copy code", id="copy-code", variant="primary")
                yield Button("Cancel", id="cancel-sign-in")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "copy-code":
            self.app.copy_to_clipboard(self.code)
            self.notify("Code copied to the clipboard")
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()
        self.dismiss(None)


class LogFileScreen(ModalScreen[None]):
    """The end of the wizard's log file (its own steps and failures, and library messages),
    redacted, never on the terminal. A read-only text area: long lines wrap whole, and the
    text can be selected and copied."""

    BINDINGS = [Binding("escape", "close", "Close")]

    #: the most lines shown: the end of the file is what explains a failure just seen
    TAIL = 500

    def __init__(self, path: Path | None) -> None:
        super().__init__(name="log-file")
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="log-dialog"):
            yield Static(
                Text(f"Log file: {self.path or 'none (logging is off)'}"), classes="heading"
            )
            yield TextArea(
                self._tail(),
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
                id="log-file-text",
            )
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def _tail(self) -> str:
        if self.path is None:
            return "(no log file)"
        try:
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(nothing logged yet)"
        except OSError as exc:
            return f"cannot read the log: {exc.strerror or 'the system refused'}"
        return redact.redact("\n".join(lines[-self.TAIL :])) or "(empty)"

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.move_cursor(area.document.end)  # the newest line in view
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str]):
    """A question with a few answers; dismisses with the id of the button pressed.

    Escape means the last choice (always the harmless one: stay in the wizard).
    """

    BINDINGS = [Binding("escape", "stay", "Stay")]

    def __init__(
        self, name: str, title: str, text: str, choices: list[tuple[str, str, str]]
    ) -> None:
        super().__init__(name=name)
        self.title_text = title
        self.text = text
        self.choices = choices  # (id, label, variant)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, classes="heading")
            yield Static(Text(self.text), id="choice-text")
            with Horizontal(classes="buttons"):
                for ident, label, variant in self.choices:
                    yield Button(label, id=ident, variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.query_one(f"#{self.choices[-1][0]}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id or self.choices[-1][0])

    def action_stay(self) -> None:
        self.dismiss(self.choices[-1][0])


def quit_during_deploy() -> ChoiceScreen:
    return ChoiceScreen(
        "quit-deploy",
        "Quit while deploying?",
        "The deploy is changing Azure right now. Quitting stops it at the next safe point "
        "(a create already sent to Azure completes there, and a resize re-creates the container group first), then tells you what state Azure is in. "
        "Running the wizard or `numerai-aci-wizard deploy` again repairs the rest.",
        [("stop-and-quit", "Stop and quit", "error"), ("stay", "Keep deploying", "primary")],
    )


def save_before_quit(path: Path) -> ChoiceScreen:
    return ChoiceScreen(
        "quit-save",
        "Save your answers?",
        f"Save the answers so far to {path} so the next start is pre-filled? "
        "Secrets (keys, passwords) are never saved.",
        [
            ("save-and-quit", "Save and quit", "primary"),
            ("quit", "Quit without saving", "default"),
            ("stay", "Stay", "default"),
        ],
    )
