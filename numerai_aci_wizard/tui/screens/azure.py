"""Step 3: sign in to Azure (az login, else a device code), then subscription, region and names."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, RadioButton, RadioSet, Select, Static

from ...events import Cancelled, WizardError
from ...services import pricing
from ...settings import (
    DEFAULT_ARM_ENDPOINT,
    check_arm_endpoint,
    check_container_group,
    check_location,
    check_logic_app,
    check_resource_group,
    check_subscription_id,
)
from ..widgets.field import field_id
from .base import StepScreen

TRIGGERS = (
    ("api-connection", "API connection: one sign-in in the portal after deploy (as the original)"),
    ("managed-identity", "Managed identity: no manual step, needs Owner on the subscription"),
)


class AzureScreen(StepScreen):
    STEP = "azure"
    HEADING = "Azure"

    def body(self) -> ComposeResult:
        w = self.wizard
        with Horizontal(classes="row"):
            yield Button("Sign in to Azure", id="sign-in", variant="primary")
            yield Static(self._who(), id="who")
        yield Label("Subscription", classes="field-label")
        yield Select(
            self._subscription_options(),
            prompt="Sign in to list your subscriptions",
            value=w.settings.azure.subscription_id or Select.NULL,
            id=field_id("azure.subscription_id"),
        )
        yield Static("", classes="field-error -empty", id="subscription-error")
        yield Label("Region", classes="field-label")
        yield Select(
            self._location_options(),
            prompt="Choose a region",
            value=w.settings.azure.location or Select.NULL,
            id=field_id("azure.location"),
        )
        yield Static("", classes="field-error -empty", id="location-error")
        yield self.field(
            "azure.resource_group",
            "Resource group",
            check=check_resource_group,
            help="created if missing (tagged managed-by: numerai-aci-wizard)",
        )
        yield self.field(
            "azure.container_group",
            "Container instance name",
            check=check_container_group,
            help="lowercase letters, digits and '-'",
        )
        yield Label("How the Logic App starts the container", classes="field-label")
        with RadioSet(id=field_id("azure.trigger")):
            for mode, text in TRIGGERS:
                yield RadioButton(
                    text, value=w.settings.azure.trigger == mode, id=f"trigger-{mode}"
                )
        yield self.field("azure.logic_app", "Logic App name", check=check_logic_app)
        yield self.field(
            "azure.arm_endpoint",
            "ARM endpoint (advanced)",
            check=check_arm_endpoint,
            placeholder=DEFAULT_ARM_ENDPOINT,
            help="leave empty for the public Azure cloud",
        )

    def _who(self) -> str:
        s = self.wizard.session
        if s is None:
            return "Not signed in. Uses your `az login` if there is one, else a device code."
        how = "Azure CLI (az login)" if s.method == "azure-cli" else "device code"
        return f"Signed in as {s.user} via {how}."

    def _subscription_options(self) -> list[tuple[str, str]]:
        w = self.wizard
        if w.subscriptions is not None:
            return [
                (
                    f"{s.name}  ({s.id})" + ("" if s.state in ("Enabled", "") else f" [{s.state}]"),
                    s.id,
                )
                for s in w.subscriptions
            ]
        saved = w.settings.azure.subscription_id
        return [(f"{saved}  (saved)", saved)] if saved else []

    def _location_options(self) -> list[tuple[str, str]]:
        w = self.wizard
        if w.locations is not None:
            return [(f"{loc.display_name}  ({loc.name})", loc.name) for loc in w.locations]
        names = sorted(
            {*pricing._TABLE, *([w.settings.azure.location] if w.settings.azure.location else [])}
        )
        return [(name, name) for name in names]

    # --- sign-in and discovery -------------------------------------------------------

    @on(Button.Pressed, "#sign-in")
    def sign_in(self, event: Button.Pressed) -> None:
        event.stop()
        self.keep_answers()
        self.query_one("#who", Static).update("Signing in...")
        self.query_one("#sign-in", Button).disabled = True
        self._discover(self.wizard.settings.azure.subscription_id)

    @work(thread=True, exclusive=True, group="azure", exit_on_error=False)
    def _discover(self, subscription: str) -> None:
        """Sign in, list subscriptions, then the regions of the chosen one."""
        w = self.wizard
        try:
            azure = w.azure()
            subs = azure.list_subscriptions()
            self.app.call_from_thread(self._got_subscriptions, subs)
            ids = [s.id for s in subs]
            chosen = subscription if subscription in ids else (ids[0] if len(ids) == 1 else "")
            if chosen:
                self._list_locations(chosen)
        except (WizardError, Cancelled) as exc:
            self.app.call_from_thread(self._failed, exc)
        except Exception as exc:
            self.app.call_from_thread(self._failed, WizardError(f"{type(exc).__name__}: {exc}"))

    def _list_locations(self, subscription: str) -> None:
        settings = self.wizard.settings.copy()
        settings.azure.subscription_id = subscription
        locations = self.wizard.azure(settings).list_locations()
        self.app.call_from_thread(self._got_locations, subscription, locations)

    @work(thread=True, exclusive=True, group="locations", exit_on_error=False)
    def _relist_locations(self, subscription: str) -> None:
        try:
            self._list_locations(subscription)
        except (WizardError, Cancelled) as exc:
            self.app.call_from_thread(self._failed, exc)

    def _failed(self, exc: BaseException) -> None:
        if not self.is_attached:
            return
        self.query_one("#sign-in", Button).disabled = False
        text = "Sign-in cancelled." if isinstance(exc, Cancelled) else f"✗ {exc}"
        who = self.query_one("#who", Static)
        who.update(text)
        who.add_class("error")

    def _got_subscriptions(self, subs: list) -> None:
        w = self.wizard
        w.subscriptions = subs
        if not self.is_attached:
            return
        self.query_one("#sign-in", Button).disabled = False
        who = self.query_one("#who", Static)
        who.remove_class("error")
        who.update(self._who())
        select = self.query_one(f"#{field_id('azure.subscription_id')}", Select)
        saved = w.settings.azure.subscription_id
        select.set_options(self._subscription_options())
        ids = [s.id for s in subs]
        if saved in ids:
            select.value = saved
        elif len(ids) == 1:
            select.value = ids[0]
        if not subs:
            self._error(
                "subscription-error",
                "this account has no subscriptions: create one at portal.azure.com",
            )

    def _got_locations(self, subscription: str, locations: list) -> None:
        w = self.wizard
        w.locations = locations
        if not self.is_attached:
            return
        select = self.query_one(f"#{field_id('azure.location')}", Select)
        saved = w.settings.azure.location
        select.set_options(self._location_options())
        if saved in [loc.name for loc in locations]:
            select.value = saved
        elif saved:
            self._error(
                "location-error",
                f"{saved} does not offer Container Instances in this subscription: choose another",
            )

    @on(Select.Changed, f"#{field_id('azure.subscription_id')}")
    def subscription_changed(self, event: Select.Changed) -> None:
        value = event.select.selection
        if (
            value is None
            or value == self.wizard.settings.azure.subscription_id
            and self.wizard.locations is not None
        ):
            if value is not None:
                self._error("subscription-error", None)
            return
        self.wizard.choose("azure.subscription_id", str(value))
        self._error("subscription-error", None)
        if self.wizard.session is not None:
            self._relist_locations(str(value))

    @on(Select.Changed, f"#{field_id('azure.location')}")
    def location_changed(self, event: Select.Changed) -> None:
        if event.select.selection is not None:
            self.wizard.choose("azure.location", str(event.select.selection))
            self._error("location-error", None)

    def _error(self, where: str, reason: str | None) -> None:
        error = self.query_one(f"#{where}", Static)
        error.update(reason or "")
        error.set_class(not reason, "-empty")

    # --- answers -------------------------------------------------------------------

    def keep_answers(self) -> dict[str, str]:
        rest = super().keep_answers()
        problems: dict[str, str] = {}
        w = self.wizard
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is not None and pressed.id:
            w.choose("azure.trigger", pressed.id.removeprefix("trigger-"))
        for key, where, check in (
            ("azure.subscription_id", "subscription-error", check_subscription_id),
            ("azure.location", "location-error", check_location),
        ):
            selection = self.query_one(f"#{field_id(key)}", Select).selection
            if selection is not None:
                w.choose(key, str(selection))
            reason = check(str(selection or ""))
            if reason and selection is None and w.session is None:
                reason = "sign in to Azure to choose the " + (
                    "subscription" if key.endswith("subscription_id") else "region"
                )
            if reason:
                problems[key] = reason
            self._error(where, reason)
        return {**problems, **rest}

    def land_on(self, key: str, reason: str | None) -> None:
        where = {"azure.subscription_id": "subscription-error", "azure.location": "location-error"}
        if key in where:
            self._error(where[key], reason)
            self.query_one(f"#{field_id(key)}").focus()
            return
        super().land_on(key, reason)
