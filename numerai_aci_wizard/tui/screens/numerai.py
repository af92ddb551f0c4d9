"""Step 2: the Numerai keys (checked against Numerai in a worker), the models, webhook and keyring.

Several models share one setup: the user ticks them in a list of the account's models. The
first (the text field, which also takes a typed id) holds the webhook; one run submits for all.
"""

from __future__ import annotations

from rich.segment import Segment
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widgets import Button, Input, Label, SelectionList, Static, Switch
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from ... import secrets as secret_sources
from ...events import ErrorCode
from ...settings import check_model_id, check_public_id, check_secret_key
from ..messages import KeysChecked, KeysFailed, failure_text, report
from ..widgets.field import TextField, field_id
from ..widgets.switch import SwitchRow
from .base import StepScreen

#: Numerai's answers that mean "these keys will not do" (not "Numerai could not be asked")
KEY_REFUSALS = (ErrorCode.NUMERAI_BAD_KEYS, ErrorCode.NUMERAI_SCOPE)


class ModelList(SelectionList[str]):
    """The models to submit for: a ticked row shows a check mark, not only another colour
    (colour alone says nothing to a colour-blind user or a monochrome terminal), and the
    list highlights a row as soon as it has the cursor."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 4 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip
        mark = "✓" if selection.value in self.selected else " "
        segments[1] = Segment(mark, segments[1].style)
        return Strip(segments, strip.cell_length)

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0
        self.call_after_refresh(self.scroll_visible, animate=False)


class NumeraiScreen(StepScreen):
    STEP = "numerai"
    HEADING = "Numerai"
    #: the keys of the check under way
    checking: tuple[str, str] = ("", "")

    def body(self) -> ComposeResult:
        w = self.wizard
        found = {n: s for n, s in w.secret_sources.items() if s in ("environment", "keyring")}
        where = (
            "Pre-filled from the " + " and ".join(sorted(set(found.values()))) + "."
            if found
            else "numer.ai > Account > API keys; the key needs upload and webhook scopes."
        )
        yield Static(
            f"Your API key. {where} Never saved to the settings file.", classes="para", id="intro"
        )
        yield self.field(
            "numerai_public_id",
            "Public ID",
            check=check_public_id,
            password=True,
            placeholder="32 characters A-Z 0-9",
        )
        yield self.field(
            "numerai_secret_key",
            "Secret key",
            check=check_secret_key,
            password=True,
            placeholder="64 characters A-Z 0-9",
        )
        with Horizontal(classes="row"):
            yield Button("Check keys and list models", id="check-keys")
            yield Static(self._account_text(), id="keys-status")
        yield Label(
            "Models to submit for (tick them; Check keys lists all of yours)",
            classes="field-label",
        )
        options = self._selections(w.session.found.models)
        listed = ModelList(*options, id="model-list")
        listed.display = bool(options)  # an empty box says nothing
        yield listed
        yield self.field(
            "numerai.model_id",
            "First model ID (its webhook starts the one run for all ticked models)",
            check=check_model_id,
            placeholder="8-4-4-4-12 hex digits, or tick a model above",
        )
        yield SwitchRow(
            w.settings.numerai.register_webhook,
            "Register the webhook with Numerai (else paste the URL at numer.ai yourself)",
            switch_id=field_id("numerai.register_webhook"),
        )
        ok, why = secret_sources.keyring_status()
        yield SwitchRow(
            w.settings.secrets.keyring,
            "Remember the secrets in the OS keyring"
            + (f" ({why})" if ok else f": not possible here, {why}"),
            switch_id=field_id("secrets.keyring"),
            disabled=not ok,
        )

    def _selections(self, models: dict[str, str]) -> list[Selection[str]]:
        """The account's models, then any saved model the account does not have: shown
        ticked and named as such (never dropped unseen), for the user to untick."""
        n = self.wizard.settings.numerai
        saved = n.model_ids
        if not models:  # not checked yet (a re-run): the saved models, all of them, ticked
            return [
                Selection(
                    f"{n.model_name if mid == n.model_id and n.model_name else 'saved model'}"
                    f"  ({mid})",
                    mid,
                    True,
                )
                for mid in saved
            ]
        chosen = {m.lower() for m in saved}
        known = {mid.lower() for mid in models.values()}
        listed = [
            Selection(f"{name}  ({mid})", mid, mid.lower() in chosen)
            for name, mid in sorted(models.items())
        ]
        if models:  # the account's list is known: what is not in it is a stranger
            listed += [
                Selection(f"not a model of this account  ({mid})", mid, True)
                for mid in saved
                if mid.lower() not in known
            ]
        return listed

    def _ticked(self) -> list[str]:
        """The ticked models in the list's order."""
        listed = self.query_one("#model-list", SelectionList)
        selected = set(listed.selected)
        options = [listed.get_option_at_index(i).value for i in range(listed.option_count)]
        return [str(v) for v in options if v in selected]

    def _model_ids(self, first: str) -> list[str]:
        """The first model, then every other ticked one."""
        rest = [m for m in self._ticked() if m.lower() != first.strip().lower()]
        return [first.strip(), *rest] if first.strip() else rest

    def _name_of(self, model_id: str) -> str:
        models = self.wizard.session.found.models
        return next((n for n, mid in models.items() if mid.lower() == model_id.lower()), "")

    def _account_text(self) -> str:
        w = self.wizard
        account = w.session.found.account
        if account is None:
            return "Keys not checked yet."
        models = len(w.session.found.models)
        return f"Keys work: account {account.username}, {models} model{'s' if models != 1 else ''}."

    # --- the check -----------------------------------------------------------------

    @on(Button.Pressed, "#check-keys")
    def check_keys(self, event: Button.Pressed) -> None:
        event.stop()
        problems = {
            k: r
            for k, r in self.keep_answers().items()
            if k in ("numerai_public_id", "numerai_secret_key")
        }
        if problems:
            for f in self.query(TextField):
                f.set_error(problems.get(f.key))
            self.land_on(*next(iter(problems.items())))
            return
        self.query_one("#keys-status", Static).update("Checking the keys with Numerai...")
        self.query_one("#check-keys", Button).disabled = True
        s = self.wizard.secrets
        self.checking = (s.numerai_public_id, s.numerai_secret_key)
        self._check(*self.checking)

    @work(thread=True, exclusive=True, group="numerai", exit_on_error=False)
    def _check(self, public_id: str, secret_key: str) -> None:
        session = self.wizard.session
        report(self, KeysFailed, lambda: KeysChecked(*session.check_numerai(public_id, secret_key)))

    @on(KeysFailed)
    def _check_failed(self, message: KeysFailed) -> None:
        self.query_one("#check-keys", Button).disabled = False
        status = self.query_one("#keys-status", Static)
        error = message.error
        if error.code in KEY_REFUSALS:  # Next stops on these keys until they change
            self.wizard.refused_keys[self.checking] = error.message
        status.update(failure_text(error))
        status.add_class("error")
        self.query_one("#check-keys", Button).focus()

    @on(KeysChecked)
    def _checked(self, message: KeysChecked) -> None:
        models = message.models
        self.wizard.refused_keys.pop(self.checking, None)
        self.query_one("#check-keys", Button).disabled = False
        status = self.query_one("#keys-status", Static)
        status.remove_class("error")
        missing = message.account.missing_scopes
        text = self._account_text()
        if missing:
            scopes = "scope" if len(missing) == 1 else "scopes"
            text += f" The key lacks the {scopes} {', '.join(missing)}: make a key with them."
        status.update(text)
        listed = self.query_one("#model-list", SelectionList)
        field = self.query_one(f"#{field_id('numerai.model_id')}", TextField)
        if field.value.strip():
            self.wizard.answer("numerai.model_id", field.value)
        listed.clear_options()
        listed.add_options(self._selections(models))
        listed.display = bool(models)
        if not listed.selected and len(models) == 1:
            listed.select(next(iter(models.values())))
        # the next question: which models (else, with one ticked, on to Next)
        if models and not listed.selected:
            listed.focus()  # it scrolls into view once drawn (ModelList.on_focus)
        else:
            self.query_one("#next", Button).focus()

    @on(SelectionList.SelectedChanged, "#model-list")
    def models_ticked(self, event: SelectionList.SelectedChanged[str]) -> None:
        """Ticking fills the first model when there is none; unticking the first moves it on."""
        ticked = self._ticked()
        field = self.query_one(f"#{field_id('numerai.model_id')}", TextField)
        first = field.value.strip()
        model_list = self.query_one("#model-list", SelectionList)
        listed = {
            str(model_list.get_option_at_index(i).value).lower()
            for i in range(model_list.option_count)
        }
        if first.lower() not in {t.lower() for t in ticked} and (
            not first or first.lower() in listed
        ):
            first = ticked[0] if ticked else ""
            if field.value != first:
                field.value = first
        self.wizard.choose("numerai.model_ids", self._model_ids(first))
        self.wizard.choose("numerai.model_name", self._name_of(first))

    @on(Input.Changed, f"#{field_id('numerai.model_id')} Input")
    def model_typed(self, event: Input.Changed) -> None:
        """A typed id of a listed model ticks it."""
        value = event.value.strip().lower()
        listed = self.query_one("#model-list", SelectionList)
        for i in range(listed.option_count):
            mid = str(listed.get_option_at_index(i).value)
            if mid.lower() == value and mid not in listed.selected:
                listed.select(mid)

    def keep_answers(self) -> dict[str, str]:
        problems = super().keep_answers()
        w = self.wizard
        listed = self.query_one("#model-list", SelectionList)
        if listed.option_count and "numerai.model_id" not in problems:
            # the account's models are listed: the ticks say which models, the field the first
            w.choose("numerai.model_ids", self._model_ids(w.settings.numerai.model_id))
        name = self._name_of(w.settings.numerai.model_id)
        if name:
            w.choose("numerai.model_name", name)
        w.choose(
            "numerai.register_webhook",
            self.query_one(f"#{field_id('numerai.register_webhook')}", Switch).value,
        )
        w.choose("secrets.keyring", self.query_one(f"#{field_id('secrets.keyring')}", Switch).value)
        return problems

    def extra_problems(self) -> dict[str, str]:
        w = self.wizard
        refused = w.refused_keys.get((w.secrets.numerai_public_id, w.secrets.numerai_secret_key))
        if refused:
            return {"numerai_public_id": f"{refused}: paste the keys again and check them"}
        known = {m.lower() for m in w.session.found.models.values()}
        if not known:
            return {}
        n = w.settings.numerai
        if n.model_id.lower() not in known:
            return {
                "numerai.model_id": "this is not one of the models of this account: choose one above"
            }
        strangers = [m for m in n.model_ids if m.lower() not in known]
        if strangers:
            return {
                "numerai.model_id": f"{', '.join(strangers)} is not one of the models of this "
                "account: untick it or use the keys of the account that owns it"
            }
        return {}
