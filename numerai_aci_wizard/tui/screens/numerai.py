"""Step 2: the Numerai keys (checked against Numerai in a worker), the model, webhook and keyring."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, Select, Static, Switch

from ... import secrets as secret_sources
from ...settings import check_model_id, check_public_id, check_secret_key
from ..messages import KeysChecked, WorkFailed, report
from ..widgets.field import TextField, field_id
from ..widgets.switch import SwitchRow
from .base import StepScreen


class NumeraiScreen(StepScreen):
    STEP = "numerai"
    HEADING = "Numerai"

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
        options = [
            (f"{name}  ({mid})", mid) for name, mid in sorted(w.session.found.models.items())
        ]
        # a pasted ID keeps its stray spaces in the field; the list still knows it
        current = w.text_for("numerai.model_id").strip().lower()
        known = {mid.lower(): mid for mid in w.session.found.models.values()}
        yield Label("Model", classes="field-label")
        yield Select(
            options,
            prompt="Check the keys to list your models, or type the model ID below",
            value=known.get(current, Select.NULL),
            id="model-select",
        )
        yield self.field(
            "numerai.model_id",
            "Model ID",
            check=check_model_id,
            placeholder="8-4-4-4-12 hex digits",
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
        self._check(s.numerai_public_id, s.numerai_secret_key)

    @work(thread=True, exclusive=True, group="numerai", exit_on_error=False)
    def _check(self, public_id: str, secret_key: str) -> None:
        session = self.wizard.session
        report(self, "keys", lambda: KeysChecked(*session.check_numerai(public_id, secret_key)))

    @on(WorkFailed)
    def _check_failed(self, message: WorkFailed) -> None:
        self.query_one("#check-keys", Button).disabled = False
        status = self.query_one("#keys-status", Static)
        error = message.error
        status.update(f"✗ {error.message}" + (f" {error.hint}" if error.hint else ""))
        status.add_class("error")
        self.query_one("#check-keys", Button).focus()

    @on(KeysChecked)
    def _checked(self, message: KeysChecked) -> None:
        models = message.models
        self.query_one("#check-keys", Button).disabled = False
        status = self.query_one("#keys-status", Static)
        status.remove_class("error")
        missing = message.account.missing_scopes
        text = self._account_text()
        if missing:
            text += f" The key lacks the scope(s) {', '.join(missing)}: make a key with them."
        status.update(text)
        select = self.query_one("#model-select", Select)
        select.set_options([(f"{n}  ({mid})", mid) for n, mid in sorted(models.items())])
        current = self.query_one(f"#{field_id('numerai.model_id')}", TextField).value
        if current in models.values():
            select.value = current
        elif len(models) == 1:
            select.value = next(iter(models.values()))
        # the next question: which model (else, with one chosen, on to Next)
        if select.selection is None and models:
            select.focus()
        else:
            self.query_one("#next", Button).focus()

    @on(Select.Changed, "#model-select")
    def model_chosen(self, event: Select.Changed) -> None:
        if event.select.selection is None:
            return
        model_id = str(event.select.selection)
        field = self.query_one(f"#{field_id('numerai.model_id')}", TextField)
        if field.value != model_id:
            field.value = model_id
        name = next(
            (n for n, mid in self.wizard.session.found.models.items() if mid == model_id), ""
        )
        self.wizard.choose("numerai.model_name", name)

    def keep_answers(self) -> dict[str, str]:
        problems = super().keep_answers()
        w = self.wizard
        model_id = w.settings.numerai.model_id
        names = [n for n, mid in w.session.found.models.items() if mid.lower() == model_id.lower()]
        if names:
            w.choose("numerai.model_name", names[0])
        w.choose(
            "numerai.register_webhook",
            self.query_one(f"#{field_id('numerai.register_webhook')}", Switch).value,
        )
        w.choose("secrets.keyring", self.query_one(f"#{field_id('secrets.keyring')}", Switch).value)
        return problems

    def extra_problems(self) -> dict[str, str]:
        w = self.wizard
        model_id = w.settings.numerai.model_id.lower()
        if w.session.found.models and model_id not in {
            m.lower() for m in w.session.found.models.values()
        }:
            return {
                "numerai.model_id": "this is not one of the models of this account: choose one above"
            }
        return {}
