"""A labelled input whose rule is a ``settings.check_*`` function, with its message beside it.

The rule is the same pure ``str -> reason | None`` function the CLI and the settings
loader use, wrapped in ``textual.validation.Function`` so the Input shows valid/invalid
styling; the reason itself is printed under the field, where the user is looking.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.validation import Function, ValidationResult
from textual.widgets import Input, Label, Static

CheckFn = Callable[[str], "str | None"]


def field_id(key: str) -> str:
    """A widget id for a settings key ("azure.cpu") or a secret name ("numerai_secret_key")."""
    return "f-" + key.replace(".", "-")


class Rule(Function):
    """``Function`` whose failure text is the check's own reason, not a fixed sentence."""

    def __init__(self, check: CheckFn) -> None:
        super().__init__(lambda value: check(value) is None)
        self.check = check

    def validate(self, value: str) -> ValidationResult:
        reason = self.check(value)
        return self.success() if reason is None else self.failure(reason, value)

    def describe_failure(self, failure: object) -> str | None:
        return getattr(failure, "description", None) or self.failure_description


class TextField(Vertical):
    """Label, Input and the reason the value is refused (empty when it is fine)."""

    DEFAULT_CSS = """
    TextField { height: auto; margin-bottom: 1; }
    TextField > .field-label { color: $text; text-style: bold; }
    TextField > .field-help { color: $text-muted; }
    TextField > .field-error { color: $error; height: auto; }
    TextField > .field-error.-empty { display: none; }
    """

    def __init__(
        self,
        key: str,
        label: str,
        value: str = "",
        *,
        check: CheckFn | None = None,
        help: str = "",
        password: bool = False,
        placeholder: str = "",
    ) -> None:
        super().__init__(id=field_id(key))
        self.key = key
        self.label = label
        self.help = help
        self._check = check
        self._initial = value
        self._password = password
        self._placeholder = placeholder
        self._touched = bool(value)

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        if self.help:
            yield Static(self.help, classes="field-help")
        yield Input(
            self._initial,
            placeholder=self._placeholder,
            password=self._password,
            validators=[Rule(self.reason)] if self._check else [],
            validate_on=["changed", "blur", "submitted"],
            id=f"{self.id}-input",
        )
        yield Static("", classes="field-error -empty", id=f"{self.id}-error")

    def on_mount(self) -> None:
        # screenshots and snapshots turn blinking off so every capture is the same
        self.input.cursor_blink = getattr(self.app, "blink", True)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def value(self) -> str:
        return self.input.value.strip()

    @value.setter
    def value(self, text: str) -> None:
        self.input.value = text

    def reason(self, value: str | None = None) -> str | None:
        if self._check is None:
            return None
        return self._check(self.input.value if value is None else value)

    def set_error(self, reason: str | None) -> None:
        error = self.query_one(".field-error", Static)
        error.update(reason or "")
        error.set_class(not reason, "-empty")
        self.input.set_class(bool(reason), "-invalid")

    def check_now(self) -> str | None:
        """Judge the value and show the verdict; returns the reason, or None when it is fine."""
        reason = self.reason()
        self.set_error(reason)
        return reason

    def on_input_changed(self, event: Input.Changed) -> None:
        # not stopped: the screen may react too (the cost estimate, the registry note)
        if event.value.strip():
            self._touched = True
        if self._touched:
            self.set_error(self.reason(event.value))

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if self._touched:
            self.set_error(self.reason())
