"""Stand-in engines for the wizard's fast tests (allowed only in TUI tests).

They answer like the real services (same method names, same events, WizardError on
failure) with fixed data, so a Pilot test or a snapshot needs no server, no clock and
no randomness. Every key here is obviously fake; the webhook's sig is FAKE-SIGNATURE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from numerai_aci_wizard.engines import (
    Account,
    AzureEngine,
    AzureSession,
    ConnectionStatus,
    DeviceCodePrompt,
    Engines,
    GroupStatus,
    ImageEngine,
    ImageResult,
    Location,
    NumeraiEngine,
    ProvisionResult,
    PushedImage,
    Submission,
    Subscription,
    WorkflowRun,
)
from numerai_aci_wizard.events import (
    Emit,
    ErrorCode,
    LogLine,
    Progress,
    Removed,
    StepFailed,
    StepFinished,
    StepStarted,
    WizardError,
    check_cancel,
    ignore,
)
from numerai_aci_wizard.plan import Action, Observed, Plan, compute_plan
from numerai_aci_wizard.services import pricing
from numerai_aci_wizard.settings import Secrets, Settings

PUBLIC_ID = "FAKEPUBLICID" + "X" * 20  # 32 characters A-Z
SECRET_KEY = "FAKESECRETKEY" + "Y" * 51  # 64 characters A-Z
MODEL_ID = "11111111-2222-4333-8444-555555555555"
OTHER_MODEL_ID = "66666666-7777-4888-9999-000000000000"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
WEBHOOK_URL = (
    "https://prod-00.eastus.logic.azure.com:443/workflows/0123456789abcdef/triggers/request/"
    "paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Frequest%2Frun&sv=1.0&sig=FAKE-SIGNATURE"
)
PORTAL_LINK = (
    "https://portal.azure.com/#@fake-tenant/resource/subscriptions/"
    f"{SUBSCRIPTION}/resourceGroups/numerai-rg/providers/Microsoft.Web/connections/aci/edit"
)


#: the real engine's step titles ("Container group numerai-predict")
STEP_TITLES = {
    "resource_group": "Resource group",
    "container_group": "Container group",
    "api_connection": "API connection",
    "workflow": "Logic App",
    "role_assignment": "Azure Container Instances Contributor Role for",
}


def _session(method: str = "azure-cli") -> AzureSession:
    return AzureSession(None, "ada@example.com", "fake-tenant", method)


@dataclass
class World:
    """What the fake Azure, registry and Numerai hold, and the faults to inject."""

    subscriptions: list[Subscription] = field(
        default_factory=lambda: [Subscription(SUBSCRIPTION, "Pay-As-You-Go", "Enabled")]
    )
    locations: list[Location] = field(
        default_factory=lambda: [
            Location("eastus", "East US"),
            Location("westeurope", "West Europe"),
        ]
    )
    limits: tuple[float, float] = (16.0, 4.0)
    models: dict[str, str] = field(
        default_factory=lambda: {"ada_model": MODEL_ID, "ada_second": OTHER_MODEL_ID}
    )
    device_code: bool = False  # sign in with a device code instead of az login
    #: whether a sign-in that may not prompt works (False: `az login` not done before the
    #: wizard, so the Welcome step's quiet look at the history signs nobody in)
    silent_sign_in: bool = True
    approve: threading.Event = field(default_factory=threading.Event)
    connected_after: int = 2  # connection_status calls before it reads Connected
    fail: dict[str, WizardError] = field(default_factory=dict)  # step -> error to raise
    block: dict[str, threading.Event] = field(default_factory=dict)  # step -> wait until set
    webhooks: dict[str, str] = field(default_factory=dict)
    runs: list[WorkflowRun] = field(default_factory=list)  # the Logic App's, newest first
    #: model id -> its submissions at Numerai, newest first
    submissions: dict[str, list[Submission]] = field(default_factory=dict)
    local_exit: int = 0  # the exit code of a rehearsal's local run
    applied: list[str] = field(default_factory=list)
    #: Azure already holds everything as the settings say (a re-run): every action is "keep"
    nothing_to_change: bool = False
    #: a re-run that resizes: the container group is recreated (deleted, then created), the
    #: rest is kept
    resize: bool = False
    sign_ins: int = 0
    personal_sign_ins: list[tuple[bool, str]] = field(default_factory=list)
    status_calls: int = 0
    #: what the build prints besides its steps (text from outside: hostile, say)
    build_output: list[str] = field(default_factory=list)

    def engines(self) -> Engines:
        return Engines(
            sign_in=self.sign_in,
            azure=self.azure,
            image=FakeDocker(self),
            numerai=self.numerai,
            pricing=pricing,
        )

    def azure(
        self,
        settings: Settings,
        credential: Any,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
        polling_interval: float = 1.0,
    ) -> AzureEngine:
        return FakeAzure(self, settings, credential, emit=emit, cancel=cancel)

    def numerai(self, public_id: str, secret_key: str) -> NumeraiEngine:
        return FakeNumerai(self, public_id, secret_key)

    def sign_in(
        self,
        *,
        on_device_code: DeviceCodePrompt | None = None,
        allow_device_code: bool = True,
        cancel: threading.Event | None = None,
        tenant_id: str = "",
        cloud: str = "",
        personal_account: bool = False,
    ) -> AzureSession:
        self.sign_ins += 1
        self.personal_sign_ins.append((personal_account, tenant_id))
        self._maybe("sign_in", cancel)
        if not allow_device_code and not self.silent_sign_in:
            raise WizardError(  # no `az login` yet: a quiet sign-in finds nobody
                "not signed in to Azure", "run az login", code=ErrorCode.AZURE_SIGN_IN, exit_code=2
            )
        if not self.device_code:
            return _session()
        if not allow_device_code:  # as azure_auth: nobody may be prompted
            raise WizardError(
                "not signed in to Azure", "run az login", code=ErrorCode.AZURE_SIGN_IN, exit_code=2
            )
        if on_device_code is not None:
            on_device_code("https://microsoft.com/devicelogin", "FAKE-CODE", None)
        while not self.approve.wait(0.02):
            check_cancel(cancel)
        return _session("device-code")

    def _maybe(self, step: str, cancel: threading.Event | None = None, emit: Emit = ignore) -> None:
        gate = self.block.get(step)
        if gate is not None:
            while not gate.wait(0.02):
                check_cancel(cancel)
        if step in self.fail:
            raise self.fail[step]


class FakeAzure:
    def __init__(
        self,
        world: World,
        settings: Settings,
        credential: Any,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
    ) -> None:
        self.world = world
        self.settings = settings
        self.emit = emit
        self.cancel = cancel

    def list_subscriptions(self) -> list[Subscription]:
        self.world._maybe("list_subscriptions")
        return list(self.world.subscriptions)

    def list_locations(self) -> list[Location]:
        self.world._maybe("list_locations")
        return list(self.world.locations)

    def region_limits(self, location: str) -> tuple[float, float]:
        self.world._maybe("region_limits")
        return self.world.limits

    def observe(self) -> Observed:
        self.world._maybe("observe")
        return Observed()

    def plan(
        self,
        observed: Observed | None = None,
        secrets: Secrets | None = None,
        *,
        adopt: bool = False,
    ) -> Plan:
        plan = compute_plan(self.settings, observed or Observed(), None, adopt=adopt)
        if self.world.nothing_to_change or self.world.resize:
            return Plan(
                [
                    replace(a, action="recreate", reason="CPU 1 -> 2: ARM cannot resize in place")
                    if self.world.resize and a.resource == "container_group"
                    else replace(a, action="keep", reason="as the settings say")
                    for a in plan.actions
                ]
            )
        return plan

    def webhook_url(self) -> str | None:
        return WEBHOOK_URL

    def apply(
        self, secrets: Secrets, plan: Plan | None = None, *, adopt: bool = False
    ) -> ProvisionResult:
        for action in plan.actions if plan is not None else []:
            step = action.resource
            check_cancel(self.cancel)  # as the real engine: a cancel stops before the next step
            title = f"{STEP_TITLES.get(step, step)} {action.name}"  # as the real engine
            if action.action == "keep":  # like the real engine: no write, "unchanged"
                self.emit(StepStarted(step, title))
                self.emit(StepFinished(step, "unchanged"))
                continue
            self.emit(StepStarted(step, title))
            self.emit(Progress(step, 1, 0, "s", f"{action.name}: InProgress"))
            if action.action == "recreate":  # as the real engine: deleted, then created
                self.emit(LogLine(step, f"deleting {action.name}: {action.reason}"))
                self.emit(Removed(step, step, action.name))
                self.emit(LogLine(step, f"creating {action.name}"))
            try:  # a recreate is one unit, as in the real engine: a cancel waits for its end
                self.world._maybe(step, None if action.action == "recreate" else self.cancel)
            except WizardError as exc:
                exc.reported = True
                self.emit(StepFailed(step, exc))
                raise
            self.world.applied.append(f"{action.action} {step}")
            self.emit(StepFinished(step, f"{action.action}d {action.name}", action))
        connection = None
        if self.settings.azure.trigger == "api-connection":
            connection = self._connection(False)
        return ProvisionResult(WEBHOOK_URL, list(plan.actions) if plan else [], connection)

    def _connection(self, connected: bool) -> ConnectionStatus:
        steps = [
            f"Open {PORTAL_LINK}",
            "Click Authorize and sign in with an account that may start the container group",
            "Click Save",
        ]
        return ConnectionStatus(
            "Connected" if connected else "Error",
            connected,
            PORTAL_LINK,
            [] if connected else steps,
        )

    def connection_status(self) -> ConnectionStatus:
        self.world.status_calls += 1
        self.world._maybe("connection_status")
        return self._connection(self.world.status_calls >= self.world.connected_after)

    def status(self) -> GroupStatus:
        self.world._maybe("status")
        return GroupStatus(True, "Stopped", self.settings.docker.image, 1.0, 2.0)

    def logs(self, tail: int | None = None) -> str:
        return "fake log line\n"

    def follow_logs(self, on_text: Callable[[str], None], *, poll: float = 2.0) -> GroupStatus:
        on_text(self.logs())
        return self.status()

    def runs(self, limit: int = 10) -> list[WorkflowRun]:
        self.world._maybe("runs")
        return list(self.world.runs[:limit])

    def await_trigger_run(
        self, since: datetime, retrigger: Callable[[], None]
    ) -> WorkflowRun | None:
        return self.world.runs[0] if self.world.runs else None

    def destroy(self) -> list[Action]:
        self.world._maybe("destroy")
        return [Action("container_group", self.settings.azure.container_group, "delete", "destroy")]


class FakeDocker:
    """The docker_image module's functions the pipeline calls."""

    def __init__(self, world: World) -> None:
        self.world = world

    def check_daemon(self) -> str:
        self.world._maybe("docker")
        return "27.0 (fake)"

    def check_login(self, settings: Settings, password: str) -> str:
        self.world._maybe("login")
        return f"{settings.docker.username} may sign in to docker.io"

    def resolve_context(self, settings: Settings) -> Path:
        return Path("/fake/context")

    def context_hash(
        self, context: Path, *, base_image: str = "", build_args: dict[str, str] | None = None
    ) -> str:
        return "sha256:" + "c" * 64

    def build_and_push(
        self,
        settings: Settings,
        password: str,
        previous: PushedImage,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
    ) -> ImageResult:
        image = settings.docker.image
        emit(StepStarted("build", f"Build {image}"))
        for n in range(1, 5):
            emit(LogLine("build", f"Step {n}/4 : RUN fake step {n}"))
            emit(Progress("build", n, 4, "steps"))
        for text in self.world.build_output:
            emit(LogLine("build", text))
        self.world._maybe("build", cancel)
        emit(StepFinished("build", "built in 4 steps"))
        emit(StepStarted("push", f"Push {image}"))
        emit(Progress("push", 3 * 1024 * 1024, 12 * 1024 * 1024, "B", "layer 1 of 3"))
        self.world._maybe("push", cancel)
        emit(Progress("push", 12 * 1024 * 1024, 12 * 1024 * 1024, "B", "done"))
        emit(StepFinished("push", "pushed 12.0 MB"))
        return ImageResult(image, "sha256:" + "d" * 64, True, True, "sha256:" + "c" * 64)

    def verify_remote(self, settings: Settings, password: str | None) -> str:
        self.world._maybe("verify")
        return "sha256:" + "d" * 64

    def build(
        self, settings: Settings, *, emit: Emit = ignore, cancel: threading.Event | None = None
    ) -> str:
        emit(StepStarted("build", f"Build {settings.docker.image}"))
        self.world._maybe("build", cancel)
        emit(StepFinished("build", "built in 4 steps"))
        return "sha256:" + "e" * 64

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
        """Prints like predict.py; on success each model gets a submission for round 1101."""
        self.world._maybe("run_local", cancel)
        on_text("downloading the live data")
        if self.world.local_exit != 0:
            on_text("ERROR: the model raised ValueError: broken model")
            return self.world.local_exit
        for model_id in environment["NUMERAI_MODEL_IDS"].split(","):
            sub = Submission(f"local-{model_id}", 1101, None, datetime(2026, 11, 26, 13, 4, 51))
            self.world.submissions.setdefault(model_id, []).insert(0, sub)
        on_text("submitted")
        return 0


class FakeNumerai:
    def __init__(self, world: World, public_id: str, secret_key: str) -> None:
        self.world = world
        self.ok = public_id == PUBLIC_ID and secret_key == SECRET_KEY

    def _check(self) -> None:
        self.world._maybe("numerai")
        if not self.ok:
            raise WizardError(
                "Numerai refused the API key: the public ID and secret key do not match",
                "copy both from numer.ai > Account > API keys",
                code=ErrorCode.NUMERAI_BAD_KEYS,
                exit_code=2,
                field="numerai_public_id",
            )

    def check_keys(self) -> Account:
        self._check()
        return Account("ada", None)

    def models(self) -> dict[str, str]:
        self._check()
        return dict(self.world.models)

    def set_webhook(self, model_id: str, url: str | None) -> None:
        self._check()
        self.world._maybe("webhook")
        self.world.webhooks[model_id] = url or ""

    def trigger(self, model_id: str) -> str:
        self._check()
        return "fake-trigger-id"

    def latest_submission(self, model_id: str) -> Submission | None:
        self._check()
        found = self.world.submissions.get(model_id) or []
        return found[0] if found else None

    def submissions(self, model_id: str, limit: int = 10) -> list[Submission]:
        self._check()
        self.world._maybe("submissions")
        return list(self.world.submissions.get(model_id, []))[:limit]


# The stand-ins satisfy the engines' Protocols: mypy checks these lines (see pyproject.toml).
_image: ImageEngine = FakeDocker(World())
_numerai: NumeraiEngine = FakeNumerai(World(), PUBLIC_ID, SECRET_KEY)
_azure: AzureEngine = FakeAzure(World(), Settings(), None)
