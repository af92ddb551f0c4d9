"""Step 3: sign in to Azure (az login, else a device code), then subscription, region and names."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Label, RadioButton, RadioSet, Select, Static, Switch

from ...clouds import check_tenant_id, cloud
from ...events import ErrorCode, WizardError
from ...session import Session
from ...settings import (
    DEFAULT_ARM_ENDPOINT,
    Settings,
    check_arm_endpoint,
    check_container_group,
    check_location,
    check_logic_app,
    check_resource_group,
    check_subscription_id,
)
from ..messages import (
    LocationsFailed,
    LocationsListed,
    SignedIn,
    SignInFailed,
    failure_text,
    report,
)
from ..widgets.field import TextField, field_id
from ..widgets.switch import SwitchRow
from .base import StepScreen

#: short enough for an 80-column terminal; the note under them says what each needs
TRIGGERS = (
    ("api-connection", "API connection: authorize it once in the portal"),
    ("managed-identity", "Managed identity: no manual step"),
)
TRIGGER_NOTE = (
    "API connection (as the original scripts): after deploy, one sign-in in the portal. "
    "Managed identity: deploy grants the Logic App a role on the resource group, which "
    "needs Owner or User Access Administrator there."
)


def endpoint_warning(settings: Settings) -> str:
    """Where the Azure token goes, when that is not the cloud's own ARM ("" when it is)."""
    endpoint = settings.azure.endpoint
    default = cloud(settings.azure.cloud).arm_endpoint.rstrip("/")
    if endpoint.lower() == default.lower():
        return ""
    return f"Azure Resource Manager at {endpoint} (not {default}): your Azure token is sent there."


class AzureScreen(StepScreen):
    STEP = "azure"
    HEADING = "Azure"

    def body(self) -> ComposeResult:
        w = self.wizard
        with Horizontal(classes="row"):
            yield Button("Sign in to Azure", id="sign-in", variant="primary")
            yield Static(self._who(), id="who")
        yield SwitchRow(
            w.session.personal_account,
            "Personal Microsoft account (outlook.com, hotmail.com, live.com): it signs in "
            "only with the directory (tenant) ID below",
            switch_id="personal-account",
        )
        yield self.field(
            "azure.tenant_id",
            "Directory (tenant) ID (optional for work or school accounts)",
            check=check_tenant_id,
            help="portal > Microsoft Entra ID > Overview > Tenant ID",
        )
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
        yield Static(TRIGGER_NOTE, classes="para muted", id="trigger-note")
        yield self.field("azure.logic_app", "Logic App name", check=check_logic_app)
        yield self.field(
            "azure.arm_endpoint",
            "ARM endpoint (advanced)",
            check=check_arm_endpoint,
            placeholder=DEFAULT_ARM_ENDPOINT,
            help="leave empty for the public Azure cloud; another address receives your Azure token",
        )

    def _who(self) -> str:
        s = self.wizard.session.signed_in
        if s is None:
            return "Not signed in. Uses your `az login` if there is one, else a device code."
        how = "Azure CLI (az login)" if s.method == "azure-cli" else "device code"
        return f"Signed in as {s.user} via {how}."

    def _subscription_options(self) -> list[tuple[str, str]]:
        w = self.wizard
        subscriptions = w.session.found.subscriptions
        if subscriptions is not None:
            return [
                (
                    f"{s.name}  ({s.id})"
                    + (f"  · {s.tenant_name}" if s.tenant_name else "")
                    + ("" if s.state in ("Enabled", "") else f" [{s.state}]"),
                    s.id,
                )
                for s in subscriptions
            ]
        saved = w.settings.azure.subscription_id
        return [(f"{saved}  (saved)", saved)] if saved else []

    def _location_options(self) -> list[tuple[str, str]]:
        w = self.wizard
        locations = w.session.found.locations
        if locations is not None:
            return [(f"{loc.display_name}  ({loc.name})", loc.name) for loc in locations]
        saved = [w.settings.azure.location] if w.settings.azure.location else []
        names = sorted({*w.session.price_regions(), *saved})
        return [(name, name) for name in names]

    def focus_first(self) -> None:
        if self.wizard.session.signed_in is None:
            self.query_one("#sign-in", Button).focus()  # nothing here works before it
        else:
            super().focus_first()

    def focus_after_sign_in(self) -> None:
        """The next question the sign-in left open: subscription, region, else the names."""
        for key in ("azure.subscription_id", "azure.location"):
            select = self.query_one(f"#{field_id(key)}", Select)
            if select.selection is None:
                select.focus()
                return
        self.query_one(f"#{field_id('azure.resource_group')}-input").focus()

    # --- sign-in and discovery -------------------------------------------------------

    @on(Button.Pressed, "#sign-in")
    def sign_in(self, event: Button.Pressed) -> None:
        event.stop()
        self.keep_answers()
        w = self.wizard
        w.session.personal_account = self.query_one("#personal-account", Switch).value
        if w.session.personal_account and not w.settings.azure.tenant_id.strip():
            # asked before any code: at "organizations" such an account would wait 15 minutes
            tenant = self.query_one(f"#{field_id('azure.tenant_id')}", TextField)
            tenant.set_error(
                "a personal Microsoft account signs in only at its directory: enter the "
                "tenant ID of your subscription (portal > Microsoft Entra ID > Overview)"
            )
            tenant.input.focus()
            return
        self.query_one("#who", Static).update("Signing in...")
        self.query_one("#sign-in", Button).disabled = True
        self._discover(self.wizard.settings.azure.subscription_id)

    @work(thread=True, exclusive=True, group="azure", exit_on_error=False)
    def _discover(self, subscription: str) -> None:
        """Sign in, list subscriptions, then the regions of the chosen one."""
        session = self.wizard.session

        def signed_in() -> SignedIn:
            subs = session.subscriptions()
            return SignedIn(session.sign_in(), subs)

        report(self, SignInFailed, signed_in)
        subs = session.found.subscriptions or []
        ids = [s.id for s in subs]
        chosen = subscription if subscription in ids else (ids[0] if len(ids) == 1 else "")
        if chosen:
            report(self, LocationsFailed, lambda: _listed(session, chosen))

    @work(thread=True, exclusive=True, group="locations", exit_on_error=False)
    def _relist_locations(self, subscription: str) -> None:
        session = self.wizard.session  # read on the worker's way in, not after the app is gone
        report(self, LocationsFailed, lambda: _listed(session, subscription))

    @on(SignInFailed)
    def _sign_in_failed(self, message: SignInFailed) -> None:
        self._failed(message.error)
        self.query_one("#sign-in", Button).focus()

    @on(LocationsFailed)
    def _locations_failed(self, message: LocationsFailed) -> None:
        self._failed(message.error)

    def _failed(self, error: WizardError) -> None:
        self.query_one("#sign-in", Button).disabled = False
        text = "Sign-in cancelled." if error.code == ErrorCode.CANCELLED else failure_text(error)
        who = self.query_one("#who", Static)
        who.update(text)
        who.add_class("error")

    @on(SignedIn)
    def _got_subscriptions(self, message: SignedIn) -> None:
        w = self.wizard
        subs = message.subscriptions
        self.query_one("#sign-in", Button).disabled = False
        who = self.query_one("#who", Static)
        who.remove_class("error")
        who.update(self._who())
        for where in ("subscription-error", "location-error"):  # "sign in to ..." is stale now
            self._error(where, None)
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
        self.focus_after_sign_in()

    @on(LocationsListed)
    def _got_locations(self, message: LocationsListed) -> None:
        w = self.wizard
        locations = message.locations
        select = self.query_one(f"#{field_id('azure.location')}", Select)
        saved = w.settings.azure.location
        select.set_options(self._location_options())
        if saved in [loc.name for loc in locations]:
            select.value = saved
            self._error("location-error", None)  # no stale "sign in to choose the region"
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
            and self.wizard.session.found.locations is not None
        ):
            if value is not None:
                self._error("subscription-error", None)
            return
        self.wizard.choose("azure.subscription_id", str(value))
        self._error("subscription-error", None)
        if self.wizard.session.signed_in is not None:
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
            if reason and selection is None and w.session.signed_in is None:
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


def _listed(session: Session, subscription: str) -> LocationsListed:
    return LocationsListed(subscription, session.locations(subscription))
