"""The typed seam between the front ends and the engines that do the work.

The pipeline, the session, the CLI and the wizard see Azure, the image builder,
Numerai and sign-in only through these Protocols and result types. The real engines
(``services/``) and every test stand-in satisfy them, and mypy checks it. This module
is pure: no SDK is imported, so ``--help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .events import Emit
    from .plan import Action, Observed, Plan
    from .settings import Secrets, Settings

#: Container group states in which a run is under way.
RUNNING_STATES = frozenset({"running", "pending", "waiting", "creating", "repairing", "updating"})
#: Numerai API key scopes the wizard and the container need.
NEEDED_SCOPES = ("read_user_info", "upload_submission", "read_submission_info")

#: The region whose prices stand in for a region the price table lacks.
DEFAULT_REGION = "eastus"

#: ``on_device_code(verification_uri, user_code, expires_on)``: show a device code to the user.
DeviceCodePrompt = Callable[[str, str, "dt.datetime | None"], None]


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """Per-second prices for one region, and where they came from (shown to the user)."""

    vcpu_per_second: float
    gb_per_second: float
    currency: str
    source: str  # "Azure Retail Prices API, <date fetched>" or "built-in table of <date>"
    region: str
    exact_region: bool  # False when the table had no row for the region (default used)
    note: str = ""  # why the table was used, or that its row is approximate; "" otherwise


@dataclass(frozen=True)
class Estimate:
    """The cost of one run and of a month of rounds for one size in one region."""

    prices: Prices
    cpu: float
    memory_gb: float
    run_minutes: float
    runs_per_month: float
    per_run: float
    per_month: float

    def lines(self, models: int = 1) -> list[str]:
        """Human lines for the wizard's review screen and ``deploy``'s preamble.

        ``models``: how many models the run submits for. One run a round serves them all, so
        the figures do not grow with it (only the run's minutes, which the user sets).
        """
        p = self.prices
        cur = p.currency
        out = [
            f"about {_money(self.per_run, cur)} per run ({_num(self.cpu)} vCPU, "
            f"{_num(self.memory_gb)} GB, {_num(self.run_minutes)} min), "
            f"{_money(self.per_month, cur)} a month for about {self.runs_per_month:.0f} rounds "
            "(Tuesday to Saturday)",
            f"prices for {p.region}: {_rate(p.vcpu_per_second * 3600, cur)} per vCPU-hour, "
            f"{_rate(p.gb_per_second * 3600, cur)} per GB-hour; source: {p.source}",
        ]
        if models > 1:
            out.insert(
                1,
                f"one run a round serves all {models} models (one download of the live data): "
                f"not {models} runs; allow the run's minutes for predicting {models} models",
            )
        if not p.exact_region:
            out.append(
                f"no built-in price for region '{p.region}': used the {DEFAULT_REGION} "
                "prices, the real figure may differ"
            )
        if p.note:
            out.append(p.note)
        out.append(
            "the Logic App that starts the container costs a fraction of a cent per run "
            "(under $0.0002: three consumption-plan actions, no standing charge); "
            "billing stops when the container exits"
        )
        return out


def _num(value: float) -> str:
    return f"{value:g}"


def _money(amount: float, currency: str) -> str:
    """Two decimals from a cent up; below that, one significant digit ("$0.008")."""
    if amount >= 0.01:
        text = f"{amount:,.2f}"
    elif amount > 0:
        digits = -math.floor(math.log10(amount))
        text = f"{amount:.{digits}f}"
        if float(text) >= 0.01:  # rounding carried into the next decade
            text = f"{amount:.2f}"
    else:
        text = "0.00"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _rate(amount: float, currency: str) -> str:
    """A unit price as the price list writes it: three significant digits ("$0.00445")."""
    text = f"{amount:.3g}" if 0 < amount < 1 else f"{amount:,.2f}"
    if "e" in text:
        text = f"{amount:.10f}".rstrip("0")
    return f"${text}" if currency == "USD" else f"{text} {currency}"


@dataclass
class AzureSession:
    """A signed-in Azure identity. ``credential`` is an azure-identity TokenCredential."""

    credential: Any
    user: str
    tenant_id: str
    method: str  # "azure-cli" | "device-code"
    #: device code only: whether the next run can sign in silently (an encrypted token
    #: cache exists: libsecret / Keychain / DPAPI); az login is remembered by az itself
    remembered: bool = True


@dataclass
class Subscription:
    id: str
    name: str
    state: str
    tenant_id: str = ""
    #: the directory's display name (or its default domain), for the picker
    tenant_name: str = ""


@dataclass
class Tenant:
    """An Azure directory the signed-in user belongs to."""

    id: str
    name: str
    domain: str = ""


@dataclass
class Location:
    name: str
    display_name: str


@dataclass
class ConnectionStatus:
    """Whether the API connection ``aci`` is authorized, and how to authorize it if not."""

    status: str
    connected: bool
    portal_link: str
    steps: list[str] = field(default_factory=list)


@dataclass
class GroupStatus:
    """The container group as it is now, and its last run."""

    exists: bool
    state: str = ""
    image: str = ""
    cpu: float = 0.0
    memory_gb: float = 0.0
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.state.lower() in RUNNING_STATES


@dataclass
class WorkflowRun:
    """One call of the webhook, as the Logic App's run history keeps it."""

    name: str
    started: dt.datetime | None
    status: str  # "succeeded" | "failed" | "running"
    ended: dt.datetime | None = None
    #: the failing action (empty unless failed) and its error code and message
    failed_action: str = ""
    code: str = ""
    message: str = ""
    #: why the run's details (its actions) could not be read; "" when they were
    unreadable: str = ""


@dataclass
class ProvisionResult:
    webhook_url: str
    actions: list[Action]
    connection: ConnectionStatus | None
    #: the group was written but the stop after it failed: its first run may still be going
    stop_failed: bool = False


@dataclass(frozen=True)
class ImageResult:
    """What the pipeline records in the run state after the image step."""

    image: str
    digest: str
    built: bool
    pushed: bool
    context_hash: str


@dataclass(frozen=True)
class PushedImage:
    """What the run state remembers of the last successful push (empty strings: none)."""

    image: str = ""
    context_hash: str = ""
    digest: str = ""


@dataclass(frozen=True)
class Account:
    """Who the key belongs to. ``scopes`` is None when Numerai did not list this key's scopes."""

    username: str
    scopes: tuple[str, ...] | None = None

    @property
    def missing_scopes(self) -> tuple[str, ...]:
        """Scopes the wizard and the container need that this key lacks (empty when unknown)."""
        if self.scopes is None:
            return ()
        return tuple(s for s in NEEDED_SCOPES if s not in self.scopes)


@dataclass(frozen=True)
class Submission:
    """A submission Numerai accepted: enough to confirm that a test run landed."""

    id: str
    round: int | None
    trigger_id: str | None
    inserted_at: dt.datetime | None


# --- engines -----------------------------------------------------------------------------


class SignIn(Protocol):
    """Signs in to Azure: ``az login`` when it works, else a device code."""

    def __call__(
        self,
        *,
        on_device_code: DeviceCodePrompt | None = None,
        allow_device_code: bool = True,
        cancel: threading.Event | None = None,
        tenant_id: str = "",
        cloud: str = "",
        personal_account: bool = False,
    ) -> AzureSession:
        """``tenant_id`` empty: the account's home directory (device code: "organizations").
        ``personal_account``: the user said it is a personal Microsoft account, which signs
        in only at a tenant id (refused at once without one, never a code that cannot work)."""
        ...


class AzureDiscoveryEngine(Protocol):
    """What exists: subscriptions, regions and their limits, the deployment's resources."""

    def list_subscriptions(self) -> list[Subscription]: ...

    def list_locations(self) -> list[Location]: ...

    def region_limits(self, location: str) -> tuple[float, float]:
        """(memory GB, vCPU) the region allows one Linux container group."""
        ...

    def observe(self) -> Observed: ...


class AzureRuntimeEngine(Protocol):
    """What runs: the connection's status, the webhook, its runs, the container's state."""

    def webhook_url(self) -> str | None: ...

    def connection_status(self) -> ConnectionStatus: ...

    def status(self) -> GroupStatus: ...

    def logs(self, tail: int | None = None) -> str: ...

    def follow_logs(self, on_text: Callable[[str], None], *, poll: float = 2.0) -> GroupStatus: ...

    def runs(self, limit: int = 10) -> list[WorkflowRun]:
        """The Logic App's latest runs (one per webhook call), newest first."""
        ...

    def await_trigger_run(
        self, since: dt.datetime, retrigger: Callable[[], None]
    ) -> WorkflowRun | None:
        """Follow the run of a webhook call made at ``since``; retries while a new role
        assignment is not in effect yet (managed identity right after deploy)."""
        ...


class AzureProvisioningEngine(Protocol):
    """What the tool writes: plan, apply, destroy."""

    def plan(
        self,
        observed: Observed | None = None,
        secrets: Secrets | None = None,
        *,
        adopt: bool = False,
    ) -> Plan:
        """``adopt``: plan to take over same-named resources the tool did not create."""
        ...

    def apply(
        self, secrets: Secrets, plan: Plan | None = None, *, adopt: bool = False
    ) -> ProvisionResult:
        """Refuses (ErrorCode.NOT_OURS) to write over what the tool did not create, unless ``adopt``."""
        ...

    def destroy(self) -> list[Action]:
        """Refuses (ErrorCode.NOT_OURS) before any delete when something is not ours."""
        ...


class AzureEngine(AzureDiscoveryEngine, AzureRuntimeEngine, AzureProvisioningEngine, Protocol):
    """One subscription + resource group as the settings name them: the three parts
    (services/azure_discovery.py, azure_runtime.py, azure_provision.py) in one engine."""


class AzureFactory(Protocol):
    def __call__(
        self,
        settings: Settings,
        credential: Any,
        *,
        emit: Emit = ...,
        cancel: threading.Event | None = None,
        polling_interval: float = 1.0,
    ) -> AzureEngine: ...


class ImageEngine(Protocol):
    """Builds and pushes the prediction image, or checks an existing one in its registry."""

    def check_daemon(self) -> str:
        """The local engine's version; WizardError when it cannot be reached."""
        ...

    def check_login(self, settings: Settings, password: str) -> str:
        """Whether the registry takes the username and password (asked before a build, not
        after it); what it found, or WizardError."""
        ...

    def resolve_context(self, settings: Settings) -> Path: ...

    def context_hash(
        self, context: Path, *, base_image: str = "", build_args: dict[str, str] | None = None
    ) -> str: ...

    def build_and_push(
        self,
        settings: Settings,
        password: str,
        previous: PushedImage,
        *,
        emit: Emit = ...,
        cancel: threading.Event | None = None,
    ) -> ImageResult: ...

    def verify_remote(self, settings: Settings, password: str | None) -> str:
        """The digest of the image as the settings name it; WizardError when it is not there."""
        ...

    def build(
        self, settings: Settings, *, emit: Emit = ..., cancel: threading.Event | None = None
    ) -> str:
        """Build the image locally (no push), tagged as the settings name it; its id."""
        ...

    def run_local(
        self,
        image: str,
        environment: dict[str, str],
        *,
        on_text: Callable[[str], None],
        username: str = "",
        password: str | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Run ``image`` to its end on this machine's engine (host network); the exit code."""
        ...


class NumeraiEngine(Protocol):
    def check_keys(self) -> Account: ...

    def models(self) -> dict[str, str]:
        """The account's models: name -> id."""
        ...

    def set_webhook(self, model_id: str, url: str | None) -> None: ...

    def trigger(self, model_id: str) -> str: ...

    def latest_submission(self, model_id: str) -> Submission | None: ...

    def submissions(self, model_id: str, limit: int = 10) -> list[Submission]:
        """The model's accepted submissions for recent rounds (round, when), newest first."""
        ...


class NumeraiFactory(Protocol):
    def __call__(self, public_id: str, secret_key: str) -> NumeraiEngine: ...


class Pricing(Protocol):
    """The cost estimate (the Azure Retail Prices API, or the built-in table)."""

    def estimate(
        self,
        location: str,
        cpu: float,
        memory_gb: float,
        *,
        run_minutes: float = ...,
        lookup: bool = ...,
    ) -> Estimate: ...

    def regions(self) -> list[str]:
        """Regions the built-in price table knows (offered before Azure lists them)."""
        ...


@dataclass
class Engines:
    """The engines, as factories. The TUI's fast tests pass stand-ins; all else uses ``real()``."""

    sign_in: SignIn
    azure: AzureFactory
    image: ImageEngine
    numerai: NumeraiFactory
    pricing: Pricing
