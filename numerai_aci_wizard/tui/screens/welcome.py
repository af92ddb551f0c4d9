"""Step 1: what the wizard sets up, what it costs, where answers go, and what was found saved."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ... import store
from ...events import WizardError, describe
from ..messages import HistoryFailed, HistoryRead, failure_text, report
from ..widgets.history import history_text
from .base import StepScreen

#: at most 69 columns: it fits an 80-column terminal inside its border and the margins
DIAGRAM = """\
Numerai (round opens) --POST webhook--> Logic App "startaci"
  --start--> Azure Container Instance (your image, restart: Never)
  --predict + upload--> Numerai  (the container exits: billing stops)"""


class WelcomeScreen(StepScreen):
    STEP = "welcome"
    HEADING = "Welcome"
    NEXT_LABEL = "Start"
    #: the cursor starts on Start (put there directly: each move of focus restyles the screen)
    AUTO_FOCUS = "#next"

    def body(self) -> ComposeResult:
        w = self.wizard
        yield Static(
            "This wizard builds your prediction image, pushes it to your registry and sets up "
            "Azure so that Numerai starts it every round:",
            classes="para",
        )
        yield Static(Text(DIAGRAM), id="diagram")
        a = w.settings.azure
        try:
            est = w.session.estimate(
                a.location or "eastus", a.cpu, a.memory_gb, run_minutes=w.run_minutes, lookup=False
            )
            cost = est.lines()[0]
        except WizardError:  # the estimate is informative only
            cost = "a few cents per run"
        yield Static(
            f"Cost: you pay only while the container runs: {cost}.", classes="para", id="cost"
        )
        if w.settings_unreadable:
            saved = "found but not readable, see below: starting from the defaults"
        else:
            saved = "found, answers pre-filled" if w.settings_existed else "not there yet"
        yield Static(
            f"Settings are saved to {w.config_path} ({saved}). Secrets (Numerai keys, registry "
            "password) are never saved there: they come from the environment, the OS keyring if "
            "you opt in, or what you type here.",
            classes="para",
            id="where",
        )
        if w.notes:
            yield Static(Text("\n".join(f"! {n}" for n in w.notes)), classes="notes", id="notes")
        if w.unknown_keys:
            yield from self._unknown_keys()
        if w.group_missing:
            yield Static(
                f"! The last deploy deleted the container group {w.group_missing} for a resize "
                "and did not create it again: the next round will fail until you deploy again "
                "(Start, then Deploy).",
                classes="notes",
                id="group-missing",
            )
        if self._rerun():
            history = Static("", id="history", classes="para")
            history.display = False  # shown once rows arrive
            yield history
        yield Static(
            "Keys: Tab moves between fields, Enter goes to the next field, Esc goes back, "
            "Ctrl+N next, Ctrl+P commands (save settings, open the log), Ctrl+Q quits.",
            classes="para muted",
        )

    def _unknown_keys(self) -> ComposeResult:
        """Keys no setting reads: deploy would refuse them; fix (rename) or drop them here."""
        keys = self.wizard.unknown_keys
        with Horizontal(id="unknown-keys", classes="row"):
            if any("." in u.suggestion for u in keys):
                yield Button("Use the suggested names", id="rename-unknown")
            yield Button("Drop the unknown keys", id="drop-unknown")
        said = Static("", classes="para", id="unknown-said")
        said.display = False  # shown once the user chose
        yield said

    def _settle_unknown(self, rename: bool) -> None:
        w = self.wizard
        try:
            said = store.settle_unknown(w.settings, w.config_path, w.unknown_keys, rename=rename)
        except (OSError, ValueError) as exc:  # translated: never Python's exception text
            error = describe(exc) if isinstance(exc, OSError) else WizardError(str(exc))
            shown = self.query_one("#unknown-said", Static)
            shown.update(failure_text(error, "Could not rewrite the file"))
            shown.display = True
            return
        w.notes = [n for n in w.notes if n not in w.unknown_notes]
        w.unknown_keys = [u for u in w.unknown_keys if u.key not in said]
        w.unknown_notes = [
            n for n in w.unknown_notes if any(f"'{u.key}'" in n for u in w.unknown_keys)
        ]
        w.notes.extend(w.unknown_notes)
        notes = self.query("#notes").first(Static)
        notes.update(Text("\n".join(f"! {n}" for n in w.notes)))
        notes.display = bool(w.notes)
        self.query_one("#unknown-keys").display = bool(w.unknown_keys)
        shown = self.query_one("#unknown-said", Static)
        shown.update(Text(f"Rewrote {w.config_path}: " + "; ".join(said.values()) + "."))
        shown.display = True

    def nav_buttons(self) -> ComposeResult:
        yield Button("Quit", id="quit")
        yield Button(self.NEXT_LABEL, id="next", variant="primary")

    def on_mount(self) -> None:
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        """Work in threads still takes turns with the screen's: it starts once it is drawn."""
        self.wizard.warm_up()
        if self._rerun():
            self._history()

    def _rerun(self) -> bool:
        """A re-run of a set-up pipeline: its history is worth a look (how did last week go?)."""
        w = self.wizard
        return w.settings_existed and bool(w.settings.azure.subscription_id)

    @work(thread=True, exclusive=True, group="history", exit_on_error=False)
    def _history(self) -> None:
        """Only when signing in costs nothing (az login, or already signed in); never blocks
        the first paint, and a failure just leaves the history out."""
        session = self.wizard.session

        def read() -> HistoryRead | None:
            found = session.quiet_history(3)
            return HistoryRead(found) if found is not None and found.runs else None

        report(self, HistoryFailed, read)

    @on(HistoryRead)
    def _show_history(self, message: HistoryRead) -> None:
        text = Text("How the last rounds went:\n", style="bold")
        text.append_text(history_text(message.history, 3))
        pane = self.query_one("#history", Static)
        pane.update(text)
        pane.display = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Nothing comes before the first step: Esc is not offered (nor shown in the footer)."""
        return action != "back"

    @on(Button.Pressed, "#quit")
    def _quit_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.app.exit(0)

    @on(Button.Pressed, "#rename-unknown, #drop-unknown")
    def _unknown_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._settle_unknown(rename=event.button.id == "rename-unknown")
