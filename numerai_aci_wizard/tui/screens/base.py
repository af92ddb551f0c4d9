"""What every step screen shares: title, Back/Next, keeping answers, landing on a bad field."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from ..steps import STEPS
from ..widgets.field import TextField, field_id

if TYPE_CHECKING:
    from ..host import WizardHost


class StepScreen(Screen[None]):
    """One step. Subclasses yield their widgets from :meth:`body` and may extend :meth:`keep_answers`."""

    STEP: ClassVar[str] = ""
    HEADING: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+n", "next", "Next"),
    ]

    def __init__(self, focus: str | None = None, reason: str | None = None) -> None:
        super().__init__(name=self.STEP)
        self.focus_key = focus
        self.focus_reason = reason

    @property
    def wizard(self) -> WizardHost:
        return cast("WizardHost", self.app)

    def compose(self) -> ComposeResult:
        yield Static(f" {self.app.title}  ·  {self.app.sub_title}", id="title-bar")
        number = STEPS.index(self.STEP) + 1
        with VerticalScroll(id="body"):
            yield Static(f"Step {number} of {len(STEPS)}  ·  {self.HEADING}", classes="heading")
            yield from self.body()
        with Horizontal(id="nav"):
            yield from self.nav_buttons()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def nav_buttons(self) -> ComposeResult:
        yield Button("Back", id="back")
        yield Button(self.NEXT_LABEL, id="next", variant="primary")

    def field(self, key: str, label: str, **kw: object) -> TextField:
        """A TextField pre-filled with what the user typed before, or the saved value."""
        return TextField(key, label, self.wizard.text_for(key), **kw)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        """Where the cursor lands. Textual calls this after a step's own ``on_mount``
        (every class's handler runs): a step never calls it itself."""
        if self.focus_key:
            self.land_on(self.focus_key, self.focus_reason)
        else:
            self.focus_first()

    def focus_first(self) -> None:
        """Where the cursor starts on arrival: the first field, unless a step knows better."""
        first = self.query(Input).first() if self.query(Input) else None
        if first is not None:
            first.focus()

    def land_on(self, key: str, reason: str | None) -> None:
        """Put the cursor on the field for ``key`` and show why its value was refused."""
        matches = self.query(f"#{field_id(key)}")
        if not matches:
            if reason:
                self.notify(reason, severity="error")
            return
        widget = matches.first()
        if isinstance(widget, TextField):
            widget.set_error(reason or widget.reason())
            widget.input.focus()
        else:
            widget.focus()
            if reason:
                self.notify(reason, severity="error")
        widget.scroll_visible()

    # --- answers -------------------------------------------------------------------

    def keep_answers(self) -> dict[str, str]:
        """Write every field into the app; returns the refused ones (key -> reason), in order."""
        problems: dict[str, str] = {}
        for f in self.query(TextField):
            reason = self.wizard.answer(f.key, f.input.value)
            reason = reason or f.reason()
            if reason:
                problems[f.key] = reason
        return problems

    def extra_problems(self) -> dict[str, str]:
        """Rules that span fields of this step (e.g. a password needed only when building)."""
        return {}

    def action_next(self) -> None:
        problems = self.keep_answers()
        problems.update({k: v for k, v in self.extra_problems().items() if k not in problems})
        for f in self.query(TextField):
            f.set_error(problems.get(f.key))
        if problems:
            key, reason = next(iter(problems.items()))
            self.land_on(key, reason)
            return
        self.wizard.goto(self.wizard.step_after(self.STEP))

    def action_back(self) -> None:
        self.keep_answers()
        self.wizard.goto(self.wizard.step_before(self.STEP))

    # Buttons are handled with ``@on`` and a selector, never by an ``on_button_pressed`` that a
    # step overrides: Textual calls that handler on every class of the MRO, so a step's own
    # handler plus this one ran Next twice (the Review's Deploy button deployed twice).
    @on(Button.Pressed, "#next")
    def _next_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field; on the last field it means Next."""
        inputs = [i for i in self.query(Input) if i.display and not i.disabled]
        if inputs and event.input is inputs[-1]:
            self.action_next()
        else:
            self.focus_next()
