"""A switch with its label and its state in words: on/off is never shown by colour alone."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Static, Switch


def state_word(on: bool) -> str:
    return "on " if on else "off"


class SwitchRow(Horizontal):
    """``Switch`` (id ``switch_id``), then "on"/"off", then the label, which wraps when narrow."""

    DEFAULT_CSS = """
    SwitchRow { height: auto; margin-bottom: 1; }
    SwitchRow > .switch-state { width: 4; padding: 1 0 0 1; text-style: bold; }
    SwitchRow > Label { width: 1fr; padding: 1 0 0 1; }
    """

    def __init__(self, value: bool, label: str, *, switch_id: str, disabled: bool = False) -> None:
        super().__init__(classes="switch-row")
        self._value = value
        self._label = label
        self._switch_id = switch_id
        self._disabled = disabled

    def compose(self) -> ComposeResult:
        yield Switch(self._value, id=self._switch_id, disabled=self._disabled)
        yield Static(state_word(self._value), classes="switch-state", id=f"{self._switch_id}-state")
        yield Label(self._label)

    def on_switch_changed(self, event: Switch.Changed) -> None:
        # not stopped: the screen may react too
        self.query_one(".switch-state", Static).update(state_word(event.value))
