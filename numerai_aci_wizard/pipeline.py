"""The one orchestration that both the wizard and the headless CLI drive.

checks -> image (build + push, or verify the existing one) -> plan -> apply ->
register the webhook -> result. Everything is reported as events through one
``emit``; a failure is a WizardError (what failed, why, what to do) after a
StepFailed event for the step it happened in; setting ``cancel`` stops at the next
safe point. Each step leaves Azure, the registry and Numerai in a state the next run
picks up from, so a re-run after any failure or interruption converges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from .events import (
    Emit,
    Event,
    LogLine,
    StepFailed,
    StepFinished,
    StepStarted,
    WizardError,
    check_cancel,
    ignore,
)
from .plan import Action, Plan
from .settings import Secrets, Settings, needs_registry_login, validate

DeviceCodePrompt = Callable[[str, str, Any], None]


@dataclass
class Services:
    """The engines, as factories. The TUI's fast tests substitute stand-ins; all else uses ``real()``."""

    sign_in: Callable[..., Any]
    azure: Callable[..., Any]
    docker: Any
    numerai: Callable[..., Any]

    @classmethod
    def real(cls) -> Services:
        from .services import azure_auth, azure_provision, docker_image, numerai_api

        return cls(
            sign_in=azure_auth.sign_in,
            azure=azure_provision.Azure,
            docker=docker_image,
            numerai=numerai_api.Numerai,
        )


@dataclass
class DeployResult:
    webhook_url: str
    plan: Plan
    image: Any = None
    connection: Any = None
    webhook_registered: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[Action]:
        return self.plan.changes

    @property
    def manual_steps(self) -> list[str]:
        if self.connection is None or getattr(self.connection, "connected", True):
            return []
        return list(self.connection.steps)


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path,
        secrets: Secrets | None = None,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
        services: Services | None = None,
        on_device_code: DeviceCodePrompt | None = None,
        allow_device_code: bool = True,
        polling_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.secrets = secrets or Secrets()
        self._emit = emit
        self._failures_said: set[str] = set()
        self.cancel = cancel or threading.Event()
        self.services = services or Services.real()
        self.on_device_code = on_device_code
        self.allow_device_code = allow_device_code
        self.polling_interval = polling_interval
        self.state_path = store.state_path(config_path)
        self._session: Any = None
        self._azure: Any = None

    # --- building blocks -----------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Forward to the caller's ``emit``, remembering failures a service already reported."""
        if isinstance(event, StepFailed):
            self._failures_said.add(event.message)
        self._emit(event)

    @contextmanager
    def step(self, name: str, title: str) -> Iterator[None]:
        """Bracket a step with Started/Failed events; the caller emits StepFinished with its summary."""
        check_cancel(self.cancel)
        self.emit(StepStarted(name, title))
        try:
            yield
        except WizardError as exc:
            if exc.message not in self._failures_said:  # a service may have said it already
                self.emit(StepFailed(name, exc.message, exc.hint))
            raise

    def validate(self, limits: tuple[float, float] | None = None) -> None:
        problems = validate(self.settings, limits)
        if problems:
            raise WizardError(
                "the settings are not complete: " + "; ".join(str(p) for p in problems),
                "fix them in the wizard, the settings file or with the matching options (see --help)",
                exit_code=2,
                code="bad_settings",
            )

    def session(self) -> Any:
        if self._session is None:
            self._session = self.services.sign_in(
                on_device_code=self.on_device_code,
                allow_device_code=self.allow_device_code,
                cancel=self.cancel,
            )
        return self._session

    def azure(self) -> Any:
        if self._azure is None:
            self._azure = self.services.azure(
                self.settings,
                self.session().credential,
                emit=self.emit,
                cancel=self.cancel,
                polling_interval=self.polling_interval,
            )
        return self._azure

    def numerai(self) -> Any:
        return self.services.numerai(
            self.secrets.numerai_public_id, self.secrets.numerai_secret_key
        )

    def run_state(self) -> store.RunState:
        return store.RunState.load(self.state_path)

    # --- plan --------------------------------------------------------------------

    def _image_action(self, state: store.RunState) -> Action:
        d = self.settings.docker
        if not d.build:
            return Action(
                "image",
                d.image,
                "keep",
                "use the existing image as it is (checked in the registry at deploy)",
            )
        try:
            context = self.services.docker.resolve_context(self.settings)
            digest = self.services.docker.context_hash(context, base_image=d.base_image)
        except WizardError as exc:
            return Action("image", d.image, "update", f"build and push ({exc.message})")
        if state.image == d.image and state.context_hash == digest and state.digest:
            return Action(
                "image",
                d.image,
                "keep",
                f"build context unchanged since the last push ({state.digest[:19]})",
            )
        if state.digest and state.image == d.image:
            return Action(
                "image", d.image, "update", "the build context changed: build and push a new image"
            )
        return Action("image", d.image, "create", "build the image and push it")

    def _webhook_action(self, url: str | None, state: store.RunState) -> Action:
        n = self.settings.numerai
        name = n.model_name or n.model_id
        if not n.register_webhook:
            return Action(
                "webhook",
                name,
                "keep",
                "not registered by this tool (register_webhook = false): paste the URL yourself",
            )
        if (
            url
            and state.webhook_model_id == n.model_id
            and state.webhook_fingerprint == store.fingerprint(url)
        ):
            return Action("webhook", name, "keep", "Numerai already has this Logic App's URL")
        if url and state.webhook_model_id == n.model_id:
            return Action(
                "webhook", name, "update", "the Logic App's URL changed: register it again"
            )
        return Action(
            "webhook", name, "create", "register the Logic App's URL as the model's webhook"
        )

    def plan(self, image_action: Action | None = None) -> Plan:
        """What deploy would do. Reads only. ``image_action``: what deploy already decided."""
        with self.step("plan", "Comparing the settings with Azure"):
            self.validate()
            state = self.run_state()
            azure = self.azure()
            observed = azure.observe()
            plan = azure.plan(
                observed, secrets=self.secrets if self.secrets.numerai_secret_key else None
            )
            url = azure.webhook_url() if observed.workflow is not None else None
            plan = Plan(
                [
                    image_action or self._image_action(state),
                    *plan.actions,
                    self._webhook_action(url, state),
                ]
            )
            self.emit(StepFinished("plan", "", {"plan": plan.to_dict()}))
            return plan

    # --- deploy --------------------------------------------------------------------

    def checks(self) -> None:
        """Docker reachable (when building), Azure sign-in, Numerai keys: at once, every failure reported."""
        with self.step("checks", "Checking Docker, Azure and Numerai"):
            jobs: dict[str, Callable[[], Any]] = {"azure": self.session}
            if self.settings.docker.build:
                jobs["docker"] = self.services.docker.check_daemon
            if self.secrets.numerai_public_id:
                jobs["numerai"] = self._check_numerai
            failures: list[WizardError] = []
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                futures = {name: pool.submit(job) for name, job in jobs.items()}
                for name, future in futures.items():
                    try:
                        result = future.result()
                    except WizardError as exc:
                        failures.append(exc)
                        self.emit(LogLine("checks", f"{name}: {exc}", "warning"))
                        continue
                    self.emit(LogLine("checks", f"{name}: {_describe(name, result)}"))
            if failures:
                first = failures[0]
                if len(failures) > 1:
                    raise WizardError(
                        "; ".join(f.message for f in failures),
                        " ".join(f.hint for f in failures if f.hint),
                        exit_code=max(f.exit_code for f in failures),
                    )
                raise first
            self.emit(StepFinished("checks", "Docker, Azure and Numerai are ready"))

    def _check_numerai(self) -> Any:
        numerai = self.numerai()
        account = numerai.check_keys()
        models = numerai.models()
        model_id = self.settings.numerai.model_id
        if models and model_id.lower() not in {m.lower() for m in models.values()}:
            names = ", ".join(f"{name} ({mid})" for name, mid in sorted(models.items()))
            raise WizardError(
                f"model {model_id} is not one of this account's models: {names}",
                "copy the model ID from numer.ai > Models, or use the keys of the account that owns it",
                exit_code=2,
            )
        return account

    def image(self) -> Any:
        d = self.settings.docker
        password = self.secrets.docker_password or None
        state = self.run_state()
        if d.build:
            with self.step("image", f"Building and pushing {d.image}"):
                previous = {
                    "image": state.image,
                    "context_hash": state.context_hash,
                    "digest": state.digest,
                }
                result = self.services.docker.build_and_push(
                    self.settings, password or "", previous, emit=self.emit, cancel=self.cancel
                )
                state.image, state.context_hash, state.digest = (
                    result.image,
                    result.context_hash,
                    result.digest,
                )
                state.save(self.state_path)
                # the build and push steps already said what happened; this closes the bracket
                self.emit(
                    StepFinished("image", "", {"digest": result.digest, "pushed": result.pushed})
                )
                return result
        with self.step("image", f"Checking {d.image} in its registry"):
            digest = self.services.docker.verify_remote(self.settings, password)
            self.emit(StepFinished("image", f"found {digest}", {"digest": digest}))
            return None

    def deploy(self) -> DeployResult:
        self.validate()
        store.save(self.settings, self.config_path)  # an interrupted run keeps the answers
        if needs_registry_login(self.settings) and not self.secrets.docker_password:
            raise WizardError(
                "the registry password is missing", "set DOCKER_PASSWORD", exit_code=2
            )
        self.checks()
        azure = self.azure()
        limits = azure.region_limits(self.settings.azure.location)
        self.validate(limits)
        image_action = self._image_action(self.run_state())  # before the build changes the state
        image = self.image()
        if image is not None and image.pushed and image_action.action == "keep":
            image_action = Action(
                "image",
                image.image,
                "update",
                "the registry's tag had changed: built and pushed again",
            )
        check_cancel(self.cancel)
        plan = self.plan(image_action)
        with self.step("provision", "Provisioning Azure"):
            provisioned = azure.apply(
                self.secrets,
                Plan([a for a in plan.actions if a.resource not in ("image", "webhook")]),
            )
            self.emit(StepFinished("provision", "Azure resources are in place"))
        result = DeployResult(
            webhook_url=provisioned.webhook_url,
            plan=plan,
            image=image,
            connection=provisioned.connection,
        )
        self.register_webhook(result)
        self.emit(StepFinished("result", "done", {"changes": len(plan.changes)}))
        return result

    def register_webhook(self, result: DeployResult) -> None:
        action = result.plan.for_resource("webhook")
        model_id = self.settings.numerai.model_id
        if not self.settings.numerai.register_webhook:
            result.notes.append(
                "The webhook was not registered (register_webhook = false): paste the URL at numer.ai."
            )
            return
        if action is not None and action.action == "keep":
            result.webhook_registered = True
            return
        with self.step("webhook", "Registering the webhook with Numerai"):
            self.numerai().set_webhook(model_id, result.webhook_url)
            state = self.run_state()
            state.webhook_model_id, state.webhook_fingerprint = (
                model_id,
                store.fingerprint(result.webhook_url),
            )
            state.save(self.state_path)
            result.webhook_registered = True
            self.emit(StepFinished("webhook", "Numerai will call the Logic App when a round opens"))

    # --- day-two operations ----------------------------------------------------------

    def status(self) -> Any:
        return self.azure().status()

    def trigger(
        self, *, follow: bool = True, timeout: float = 1800.0, poll: float = 2.0
    ) -> TriggerResult:
        """Fire the webhook through Numerai (as a round opening does), follow the run, find the submission."""
        import time

        model_id = self.settings.numerai.model_id
        numerai = self.numerai()
        with self.step("trigger", "Asking Numerai to call the webhook"):
            if self.settings.azure.trigger == "api-connection":
                connection = self.azure().connection_status()
                if not connection.connected:  # the Logic App's start would fail: say so now
                    raise WizardError(
                        f"the API connection 'aci' is not authorized yet (status {connection.status}), "
                        "so the Logic App cannot start the container",
                        "authorize it first: "
                        + " ".join(f"{n}. {step}" for n, step in enumerate(connection.steps, 1)),
                    )
            before = numerai.latest_submission(model_id)
            started_after = self.azure().status() if follow else None
            trigger_id = numerai.trigger(model_id)
            self.emit(StepFinished("trigger", f"Numerai accepted the trigger ({trigger_id})"))
        result = TriggerResult(trigger_id=trigger_id, before=before)
        if not follow:
            return result
        deadline = time.monotonic() + timeout
        with self.step("run", "Waiting for the container to start"):
            azure = self.azure()
            while True:
                check_cancel(self.cancel)
                status = azure.status()
                if _run_began(status, started_after):
                    break
                if time.monotonic() > deadline:
                    raise WizardError(
                        "the container did not start within the time allowed",
                        "check the Logic App's run history in the portal (and, in api-connection mode, "
                        "that the connection is authorized)",
                    )
                self.cancel.wait(poll)
            self.emit(LogLine("run", "The container started; its output follows."))
            result.status = azure.follow_logs(
                lambda text: self.emit(LogLine("run", text)), poll=poll
            )
            self.emit(StepFinished("run", f"the run ended: {getattr(result.status, 'state', '?')}"))
        with self.step("submission", "Looking for the submission at Numerai"):
            for _ in range(10):
                result.after = numerai.latest_submission(model_id)
                if result.landed:
                    break
                self.cancel.wait(poll)
            if not result.landed:
                raise WizardError(
                    "the run ended but no new submission reached Numerai",
                    "read the run's output above (numerai-aci-wizard logs) for the reason",
                )
            self.emit(
                StepFinished(
                    "submission",
                    f"a submission landed for round {getattr(result.after, 'round', '?')}",
                )
            )
        return result

    def destroy(self) -> list[Action]:
        removed: list[Action] = []
        if self.secrets.numerai_secret_key and self.settings.numerai.register_webhook:
            with self.step("webhook", "Clearing the model's webhook at Numerai"):
                self.numerai().set_webhook(self.settings.numerai.model_id, None)
                removed.append(
                    Action(
                        "webhook", self.settings.numerai.model_id, "delete", "cleared at Numerai"
                    )
                )
                self.emit(StepFinished("webhook", "cleared"))
        elif self.settings.numerai.register_webhook:
            self.emit(
                LogLine(
                    "webhook",
                    "The Numerai keys are not set, so the model's webhook was left as it is: "
                    "clear it at numer.ai or run destroy again with NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY.",
                    "warning",
                )
            )
        with self.step("destroy", "Removing the Azure resources"):
            removed.extend(self.azure().destroy())
            self.emit(StepFinished("destroy", f"{len(removed)} removed"))
        state = self.run_state()
        state.webhook_model_id = state.webhook_fingerprint = ""
        state.save(self.state_path)
        return removed


@dataclass
class TriggerResult:
    trigger_id: str
    before: Any = None
    after: Any = None
    status: Any = None

    @property
    def landed(self) -> bool:
        return self.after is not None and self.after != self.before


def _run_began(status: Any, before: Any) -> bool:
    """A run began since ``before``: the group is running, or it has a newer start time."""
    if getattr(status, "state", "") in ("Running", "Pending", "Starting"):
        return True
    started = getattr(status, "started", None)
    return started is not None and started != getattr(before, "started", None)


def _describe(name: str, result: Any) -> str:
    if name == "azure":
        return f"signed in as {getattr(result, 'user', '?')} ({getattr(result, 'method', '')})"
    if name == "docker":
        return f"engine {result}"
    if name == "numerai":
        return f"keys valid for {getattr(result, 'username', 'your account')}"
    return "ok"
