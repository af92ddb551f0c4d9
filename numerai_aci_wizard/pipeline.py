"""The one orchestration that both the wizard and the headless CLI drive.

checks -> image (build + push, or verify the existing one) -> plan -> apply ->
register the webhook -> result. Everything is reported as events through one
``emit``; a failure is a WizardError (what failed, why, what to do) after a
StepFailed event for the step it happened in; setting ``cancel`` stops at the next
safe point. Each step leaves Azure, the registry and Numerai in a state the next run
picks up from, so a re-run after any failure or interruption converges.

A Pipeline is made by :class:`~numerai_aci_wizard.session.Session`, which holds the
engines and the cached sign-in; every decision it acts on comes from ``plan.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import plan as decide
from . import store, waits
from .engines import (
    Account,
    AzureEngine,
    AzureSession,
    ConnectionStatus,
    Engines,
    GroupStatus,
    ImageResult,
    NumeraiEngine,
    PushedImage,
    Submission,
)
from .events import (
    Emit,
    ErrorCode,
    Event,
    GroupStopped,
    LogLine,
    Planned,
    Removed,
    Step,
    StepFinished,
    WizardError,
    check_cancel,
    ignore,
    step,
)
from .history import History, build_history
from .plan import Action, Plan
from .rehearse import ModelOutcome, Rehearsal, error_line, local_env
from .runlock import one_at_a_time
from .settings import Secrets, Settings, needs_registry_login, validate

#: The answers a failed step sends the wizard's Back to, when the failure names no setting.
AZURE, IMAGE = "azure.resource_group", "docker.image"
#: Signs in once (the session caches it); ``cancel`` stops a device-code wait.
SignInProvider = Callable[[threading.Event | None], AzureSession]


@dataclass
class DeployResult:
    webhook_url: str
    plan: Plan
    image: ImageResult | None = None
    connection: ConnectionStatus | None = None
    webhook_registered: bool = False
    #: the model whose webhook is the Logic App's URL (its name, else its id)
    webhook_model: str = ""
    #: every model the run submits for (names, else ids), the holder first
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[Action]:
        return self.plan.changes

    @property
    def manual_steps(self) -> list[str]:
        if self.connection is None or self.connection.connected:
            return []
        return list(self.connection.steps)


@dataclass
class TriggerResult:
    """One webhook call (through the first model), one run, a submission per model."""

    trigger_id: str
    #: model id -> its latest submission before the call / after the run
    before_by_model: dict[str, Submission | None] = field(default_factory=dict)
    after_by_model: dict[str, Submission | None] = field(default_factory=dict)
    status: GroupStatus | None = None

    def landed_for(self, model_id: str) -> bool:
        after = self.after_by_model.get(model_id)
        return after is not None and after != self.before_by_model.get(model_id)

    @property
    def missing(self) -> list[str]:
        """The models that have no new submission (yet)."""
        return [m for m in self.before_by_model if not self.landed_for(m)]

    @property
    def landed(self) -> bool:
        return bool(self.before_by_model) and not self.missing

    @property
    def before(self) -> Submission | None:
        """The first model's (the one-model form)."""
        return next(iter(self.before_by_model.values()), None)

    @property
    def after(self) -> Submission | None:
        first = next(iter(self.before_by_model), None)
        return None if first is None else self.after_by_model.get(first)


@dataclass
class ModelStatus:
    model_id: str
    name: str
    holds_webhook: bool
    latest: Submission | None = None
    #: False: Numerai was not asked (no keys) or did not answer, so ``latest`` says nothing
    checked: bool = False
    #: why the submissions could not be read (``checked`` is then False)
    problem: str = ""


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        *,
        engines: Engines,
        sign_in: SignInProvider,
        config_path: Path,
        secrets: Secrets | None = None,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
        polling_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.engines = engines
        self._sign_in = sign_in
        self.config_path = config_path
        self.secrets = secrets or Secrets()
        self._emit = emit
        self.cancel = cancel or threading.Event()
        self.polling_interval = polling_interval
        self.state_path = store.state_path(config_path)
        self._azure: AzureEngine | None = None
        #: the account's models (name -> id) once the Numerai check has read them
        self.model_names: dict[str, str] = {}
        #: deploy --adopt: take over same-named resources the tool did not create
        self.adopt = False

    # --- building blocks -----------------------------------------------------------

    def emit(self, event: Event) -> None:
        if isinstance(event, GroupStopped):
            self._stop_done(event.group)
        self._remember_missing(event)
        self._emit(event)

    def _remember_missing(self, event: Event) -> None:
        """A container group a resize deleted is remembered until it exists again: a run that
        ends in between (a failed create) leaves the next wizard a fact to say, not a guess."""
        gone = isinstance(event, Removed) and event.resource == "container_group"
        back = isinstance(event, StepFinished) and event.step == "container_group"
        if not (gone or back):
            return
        state = self.run_state()
        want = self.settings.azure.container_group if gone else ""
        if state.group_missing != want:
            state.group_missing = want
            state.save(self.state_path)

    @contextmanager
    def step(self, name: str, title: str, field: str = "") -> Iterator[Step]:
        """The one step bracket (events.step); the caller ends it with the handle's ``done``.
        ``field``: the setting a failure that names none is about."""
        with step(self.emit, name, title, cancel=self.cancel, field=field) as handle:
            yield handle

    def validate(self, limits: tuple[float, float] | None = None) -> None:
        problems = validate(self.settings, limits)
        if problems:
            raise WizardError(
                "the settings are not complete: " + "; ".join(str(p) for p in problems),
                "fix them in the wizard, the settings file or with the matching options (see --help)",
                code=ErrorCode.BAD_SETTINGS,
                field=problems[0].key,
            )

    def session(self) -> AzureSession:
        return self._sign_in(self.cancel)

    def azure(self) -> AzureEngine:
        if self._azure is None:
            self._azure = self.engines.azure(
                self.settings,
                self.session().credential,
                emit=self.emit,
                cancel=self.cancel,
                polling_interval=self.polling_interval,
            )
        return self._azure

    def numerai(self) -> NumeraiEngine:
        return self.engines.numerai(self.secrets.numerai_public_id, self.secrets.numerai_secret_key)

    def run_state(self) -> store.RunState:
        return store.RunState.load(
            self.state_path, warn=lambda text: self.emit(LogLine("state", text, "warning"))
        )

    # --- plan --------------------------------------------------------------------

    def _image_action(self, state: store.RunState) -> Action:
        context_hash: str | None = None
        problem = ""
        if self.settings.docker.build:
            image = self.engines.image
            try:
                context = image.resolve_context(self.settings)
                context_hash = image.context_hash(context, build_args=self.settings.build_args())
            except WizardError as exc:
                problem = exc.message
        return decide.image_action(
            self.settings,
            last_image=state.image,
            last_context_hash=state.context_hash,
            last_digest=state.digest,
            context_hash=context_hash,
            context_problem=problem,
        )

    def _refuse_an_image_aci_cannot_run(self) -> None:
        """An existing image (``build`` off) that is not linux/amd64 is refused by plan too.

        Best effort: when the registry cannot be read (private without the password, down),
        plan says nothing of it; deploy checks it for good before any write to Azure.
        """
        if self.settings.docker.build:
            return
        try:
            self.engines.image.verify_remote(self.settings, self.secrets.docker_password or None)
        except WizardError as exc:
            if exc.code == ErrorCode.IMAGE_PLATFORM:
                raise

    def plan(self, image_action: Action | None = None) -> Plan:
        """What deploy would do. Reads only. ``image_action``: what deploy already decided."""
        with self.step("plan", "Comparing the settings with Azure", AZURE) as planning:
            self.validate()
            if image_action is None:
                self._refuse_an_image_aci_cannot_run()
            state = self.run_state()
            azure = self.azure()
            observed = azure.observe()
            azure_plan = azure.plan(
                observed,
                secrets=self.secrets if self.secrets.numerai_secret_key else None,
                adopt=self.adopt,
            )
            url = azure.webhook_url() if observed.workflow is not None else None
            pending = bool(state.stop_pending) and (
                state.stop_pending == self.settings.azure.container_group
            )
            why = (
                decide.STOP_INTERRUPTED
                if state.stop_pending_why == "interrupted"
                else decide.STOP_LEFTOVER
            )
            plan = Plan(
                [
                    image_action or self._image_action(state),
                    *(
                        decide.leftover_run(a, observed.container_group, pending, why)
                        for a in azure_plan.actions
                    ),
                    *decide.webhook_actions(
                        self.settings,
                        url,
                        registered_model_id=state.webhook_model_id,
                        registered_fingerprint=state.webhook_fingerprint,
                        names=self.model_names,
                    ),
                ]
            )
            self.emit(Planned("plan", tuple(plan.actions)))
            planning.done()
            return plan

    # --- deploy --------------------------------------------------------------------

    def checks(self) -> None:
        """Docker reachable (when building), Azure sign-in, Numerai keys: at once, every failure reported."""
        jobs: dict[str, Callable[[], str]] = {}
        if self.settings.docker.build:  # an existing image is checked in its registry, later
            jobs["Docker"] = self._check_docker
        jobs["Azure"] = self._check_azure
        if self.secrets.numerai_public_id:
            jobs["Numerai"] = self._check_numerai
        names = list(jobs)
        said = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        with self.step("checks", f"Checking {said}") as this:
            failures: list[WizardError] = []
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                futures = {name: pool.submit(job) for name, job in jobs.items()}
                for name, future in futures.items():
                    try:
                        found = waits.result(future)  # Ctrl+C lands meanwhile
                    except WizardError as exc:
                        failures.append(exc)
                        self.emit(LogLine("checks", f"{name}: {exc}", "warning"))
                        continue
                    self.emit(LogLine("checks", f"{name}: {found}"))
            if len(failures) == 1:
                raise failures[0]
            if failures:
                raise WizardError(
                    "; ".join(f.message for f in failures),
                    " ".join(f.hint for f in failures if f.hint),
                    exit_code=max(f.exit_code for f in failures),
                    code=failures[0].code,
                    field=next((f.field for f in failures if f.field), ""),
                )
            this.done(f"{said} {'are' if len(names) > 1 else 'is'} ready")

    def _check_docker(self) -> str:
        """The engine, then the registry sign-in the push will need: before the build, so a
        wrong password costs seconds, not the minutes of a build."""
        found = f"engine {self.engines.image.check_daemon()}"
        if needs_registry_login(self.settings) and self.secrets.docker_password:
            found += "; " + self.engines.image.check_login(
                self.settings, self.secrets.docker_password
            )
        return found

    def _check_azure(self) -> str:
        session = self.session()
        return f"signed in as {session.user} ({session.method})"

    def _check_numerai(self) -> str:
        numerai = self.numerai()
        account: Account = numerai.check_keys()
        models = numerai.models()
        self.model_names = dict(models)
        known = {m.lower() for m in models.values()}
        strangers = [m for m in self.settings.numerai.model_ids if m.lower() not in known]
        if models and strangers:
            names = ", ".join(f"{name} ({mid})" for name, mid in sorted(models.items()))
            raise WizardError(
                f"model {', '.join(strangers)} is not one of this account's models: {names}",
                "copy the model ID from numer.ai > Models, or use the keys of the account that owns it",
                code=ErrorCode.NUMERAI_MODEL,
                exit_code=2,
                field="numerai.model_id",
            )
        return f"keys valid for {account.username or 'your account'}"

    def image(self) -> ImageResult | None:
        d = self.settings.docker
        password = self.secrets.docker_password or None
        state = self.run_state()
        if d.build:
            with self.step("image", f"Building and pushing {d.image}", IMAGE) as built:
                result = self.engines.image.build_and_push(
                    self.settings,
                    password or "",
                    PushedImage(state.image, state.context_hash, state.digest),
                    emit=self.emit,
                    cancel=self.cancel,
                )
                state.image, state.context_hash, state.digest = (
                    result.image,
                    result.context_hash,
                    result.digest,
                )
                state.save(self.state_path)
                built.done()  # the build and push steps already said what happened
                return result
        with self.step("image", f"Checking {d.image} in its registry", IMAGE) as checked:
            digest = self.engines.image.verify_remote(self.settings, password)
            checked.done(f"found {digest}")
            return None

    @one_at_a_time("deploy")
    def deploy(self) -> DeployResult:
        self.validate()
        store.save(self.settings, self.config_path)  # an interrupted run keeps the answers
        if needs_registry_login(self.settings) and not self.secrets.docker_password:
            raise WizardError(
                "the registry password is missing",
                "set DOCKER_PASSWORD",
                code=ErrorCode.MISSING_SECRET,
                field="docker_password",
            )
        self.checks()
        azure = self.azure()
        limits = azure.region_limits(self.settings.azure.location)
        self.validate(limits)
        if not self.adopt:  # refuse before building anything, not after a long push
            found = decide.foreign(self.settings, azure.observe())
            if found:
                raise decide.not_ours_error(self.settings, found, "deploy")
        image_action = self._image_action(self.run_state())  # before the build changes the state
        image = self.image()
        if image is not None:
            image_action = decide.pushed_again(image_action, image.pushed, image.image)
        check_cancel(self.cancel)
        plan = self.plan(image_action)
        self._stop_pending_before_create(plan)
        with self.step("provision", "Provisioning Azure", AZURE) as provisioning:
            provisioned = azure.apply(
                self.secrets,
                Plan([a for a in plan.actions if a.resource not in ("image", "webhook")]),
                adopt=self.adopt,
            )
            provisioning.done("Azure resources are in place")
        self._remember_stop(provisioned.stop_failed)
        result = DeployResult(
            webhook_url=provisioned.webhook_url,
            plan=plan,
            image=image,
            connection=provisioned.connection,
            webhook_model=self.model_label(self.settings.numerai.model_id),
            models=[self.model_label(m) for m in self.settings.numerai.model_ids],
        )
        role = plan.for_resource("role_assignment")
        if role is not None and role.action == "create":
            result.notes.append(
                "The Logic App's new role assignment takes Azure a few minutes to apply: a "
                "webhook call in that time retries the start inside its run (once a minute, "
                "up to 40 minutes), so no round is lost."
            )
        self.register_webhook(result)
        self.emit(StepFinished("result", "done"))
        return result

    def model_label(self, model_id: str) -> str:
        n = self.settings.numerai
        own = n.model_name if model_id == n.model_id else ""
        return decide.model_label(model_id, self.model_names, own)

    def _remember_stop(self, failed: bool) -> None:
        """A failed stop after create is remembered: the next plan stops the leftover run."""
        state = self.run_state()
        want = self.settings.azure.container_group if failed else ""
        why = "failed" if failed else ""
        if (state.stop_pending, state.stop_pending_why) != (want, why):
            state.stop_pending, state.stop_pending_why = want, why
            state.save(self.state_path)

    def _stop_pending_before_create(self, plan: Plan) -> None:
        """Restart policy Never runs the group as soon as it is created: the stop that follows
        is recorded as pending *before* the create is sent, so a deploy interrupted anywhere
        around it (Ctrl+C, SIGTERM, a kill) leaves the next plan a run to stop."""
        action = plan.for_resource("container_group")
        if action is None or action.action == "keep" or not self.settings.run.stop_after_create:
            return
        state = self.run_state()
        state.stop_pending = self.settings.azure.container_group
        state.stop_pending_why = "interrupted"
        state.save(self.state_path)

    def _stop_done(self, group: str) -> None:
        """The stop after create is done: nothing is pending for this group any more."""
        state = self.run_state()
        if state.stop_pending == group:
            state.stop_pending = state.stop_pending_why = ""
            state.save(self.state_path)

    def register_webhook(self, result: DeployResult) -> None:
        """The first model's webhook is the Logic App's URL; an earlier holder is cleared after
        (registering first: a failure in between leaves a round served, never unserved)."""
        action = result.plan.for_resource("webhook")
        model_id = self.settings.numerai.model_id
        if not self.settings.numerai.register_webhook:
            result.notes.append(
                "The webhook was not registered (register_webhook = false): paste the URL at numer.ai"
                + (
                    f" as the webhook of {result.webhook_model} only (one run submits for all models)."
                    if len(result.models) > 1
                    else "."
                )
            )
            return
        state = self.run_state()
        old = decide.webhook_to_clear(self.settings, state.webhook_model_id)
        if action is not None and action.action == "keep" and old is None:
            result.webhook_registered = True
            return
        with self.step(
            "webhook", "Registering the webhook with Numerai", "numerai.model_id"
        ) as this:
            numerai = self.numerai()
            numerai.set_webhook(model_id, result.webhook_url)
            if old is not None:
                # the state names the old holder until it is cleared: a re-run finishes the job
                numerai.set_webhook(old, None)
                self.emit(
                    LogLine(
                        "webhook",
                        f"Cleared the webhook of {self.model_label(old)}: "
                        f"{result.webhook_model}'s call starts the one run now",
                    )
                )
            state.webhook_model_id = model_id
            state.webhook_fingerprint = decide.fingerprint(result.webhook_url)
            state.save(self.state_path)
            result.webhook_registered = True
            this.done(f"set as the webhook of {result.webhook_model}: one call a round")

    # --- day-two operations ----------------------------------------------------------

    def status(self) -> GroupStatus:
        return self.azure().status()

    def models_status(self) -> list[ModelStatus]:
        """Each model the run submits for: whether it holds the webhook, and (with the Numerai
        keys) its latest submission. Without the keys, Numerai is not asked."""
        n = self.settings.numerai
        holder = self.run_state().webhook_model_id
        numerai = self.numerai() if self.secrets.numerai_secret_key else None
        problem = ""
        if numerai is not None and not self.model_names:
            try:
                self.model_names = dict(numerai.models())
            except WizardError as exc:  # a read that failed says so, never "no submission"
                numerai, problem = None, exc.message
        out: list[ModelStatus] = []
        for m in n.model_ids:
            latest = None
            read_failed = problem
            if numerai is not None:
                try:
                    latest = numerai.latest_submission(m)
                except WizardError as exc:
                    latest, read_failed = None, exc.message
            out.append(
                ModelStatus(
                    model_id=m,
                    name=self.model_label(m),
                    holds_webhook=bool(holder) and holder.lower() == m.lower(),
                    latest=latest,
                    checked=numerai is not None and not read_failed,
                    problem=read_failed,
                )
            )
        return out

    def webhook_url(self) -> str | None:
        """The Logic App's trigger URL as Azure gives it now (None: no Logic App)."""
        return self.azure().webhook_url()

    def connection(self) -> ConnectionStatus | None:
        """The API connection's authorization, in api-connection mode once the group exists."""
        if self.settings.azure.trigger != "api-connection":
            return None
        return self.azure().connection_status()

    @one_at_a_time("trigger")
    def trigger(
        self, *, follow: bool = True, timeout: float = 1800.0, poll: float = 2.0
    ) -> TriggerResult:
        """Fire the webhook through Numerai (as a round opening does), follow the run, find the
        submissions: one call through the first model, one run, a new submission for each model."""
        model_id = self.settings.numerai.model_id
        model_ids = list(self.settings.numerai.model_ids)
        numerai = self.numerai()
        with self.step("trigger", "Asking Numerai to call the webhook") as this:
            connection = self.connection()
            if connection is not None and not connection.connected:
                # the Logic App's start would fail: say so now
                raise WizardError(
                    f"the API connection 'aci' is not authorized yet (status {connection.status}), "
                    "so the Logic App cannot start the container",
                    "authorize it first: "
                    + " ".join(f"{n}. {text}" for n, text in enumerate(connection.steps, 1)),
                    code=ErrorCode.CONNECTION_UNAUTHORIZED,
                )
            before = {m: numerai.latest_submission(m) for m in model_ids}
            started_after = self.azure().status() if follow else None
            called_at = dt.datetime.now(dt.UTC)
            trigger_id = numerai.trigger(model_id)
            this.done(f"Numerai accepted the trigger ({trigger_id})")
        result = TriggerResult(trigger_id=trigger_id, before_by_model=before)
        if not follow:
            return result
        if self.settings.azure.trigger == "managed-identity":
            # a new role assignment takes minutes to apply: the first calls may be refused
            with self.step("start", "Waiting for the Logic App to start the container") as this:
                run = self.azure().await_trigger_run(
                    called_at, lambda: self._retrigger(numerai, model_id)
                )
                if run is not None and run.status == "failed":
                    raise WizardError(
                        f"the Logic App could not start the container: {run.code} {run.message}".strip(),
                        "read it with: numerai-aci-wizard history",
                        code=ErrorCode.RUN_NOT_STARTED,
                    )
                this.done("the Logic App started the container")
        deadline = time.monotonic() + timeout
        with self.step("run", "Waiting for the container to start") as this:
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
                        code=ErrorCode.RUN_NOT_STARTED,
                    )
                self.cancel.wait(poll)
            self.emit(LogLine("run", "The container started; its output follows."))
            result.status = azure.follow_logs(
                lambda text: self.emit(LogLine("run", text)), poll=poll
            )
            this.done(f"the run ended: {result.status.state}")
        title = "Looking for the submission" + ("s" if len(model_ids) > 1 else "") + " at Numerai"
        with self.step("submission", title) as this:
            for _ in range(10):
                for m in result.missing:
                    result.after_by_model[m] = numerai.latest_submission(m)
                if result.landed:
                    break
                self.cancel.wait(poll)
            for m in model_ids:
                after = result.after_by_model.get(m)
                if result.landed_for(m) and after is not None:
                    shown = "?" if after.round is None else after.round
                    self.emit(
                        LogLine("submission", f"{self.model_label(m)}: landed for round {shown}")
                    )
                else:
                    self.emit(
                        LogLine(
                            "submission", f"{self.model_label(m)}: no new submission", "warning"
                        )
                    )
            if not result.landed:
                missing = ", ".join(self.model_label(m) for m in result.missing)
                raise WizardError(
                    f"the run ended but no new submission reached Numerai for {missing}"
                    if len(model_ids) > 1
                    else "the run ended but no new submission reached Numerai",
                    "read the run's output above (numerai-aci-wizard logs) for the reason",
                    code=ErrorCode.NO_SUBMISSION,
                )
            done = (
                "a submission landed"
                if len(model_ids) == 1
                else f"{len(model_ids)} submissions landed"
            )
            first = result.after
            shown = "?" if first is None or first.round is None else first.round
            this.done(f"{done} for round {shown}")
        return result

    def _retrigger(self, numerai: NumeraiEngine, model_id: str) -> None:
        self.emit(
            LogLine(
                "start", f"Asked Numerai to call the webhook again ({numerai.trigger(model_id)})"
            )
        )

    @one_at_a_time("destroy")
    def destroy(self) -> list[Action]:
        removed: list[Action] = []
        n = self.settings.numerai
        # nothing (not even the webhook) is touched when something there is not ours
        if found := decide.foreign(self.settings, self.azure().observe()):
            raise decide.not_ours_error(self.settings, found, "destroy")
        if self.secrets.numerai_secret_key and n.register_webhook:
            with self.step("webhook", "Clearing the model's webhook at Numerai") as this:
                removed.extend(self._clear_our_webhook(this))
        elif n.register_webhook:
            self.emit(
                LogLine(
                    "webhook",
                    "The Numerai keys are not set, so the model's webhook was left as it is: "
                    "clear it at numer.ai or run destroy again with NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY.",
                    "warning",
                )
            )
        with self.step("destroy", "Removing the Azure resources") as this:
            removed.extend(self.azure().destroy())
            this.done(f"{len(removed)} removed")
        state = self.run_state()
        state.webhook_model_id = state.webhook_fingerprint = ""
        state.save(self.state_path)
        return removed

    def _clear_our_webhook(self, this: Step) -> list[Action]:
        """Clear a model's webhook only where it is what deploy registered: this Logic App's
        URL (the run state names the model and the URL's fingerprint). Any other model's
        webhook may point at the user's own compute elsewhere: it is left and named.

        Numerai's API has no read of a model's webhook, so "what deploy registered" is the
        run state's record checked against the Logic App's URL as Azure gives it now.
        """
        n = self.settings.numerai
        state = self.run_state()
        holder = state.webhook_model_id
        url = self.azure().webhook_url() if holder and state.webhook_fingerprint else None
        ours = bool(url) and state.webhook_fingerprint == decide.fingerprint(url or "")
        out: list[Action] = []
        models = [n.model_id] + (
            [holder] if holder and holder.lower() != n.model_id.lower() else []
        )
        for model_id in models:
            label = self.model_label(model_id)
            if ours and model_id.lower() == holder.lower():
                self.numerai().set_webhook(model_id, None)
                out.append(Action("webhook", model_id, "delete", "cleared at Numerai"))
                continue
            why = (
                "this tool did not register it"
                if model_id.lower() != holder.lower()
                else "what this tool registered is not this Logic App's URL"
            )
            reason = f"not the Logic App's URL as registered ({why}): it may be your own"
            out.append(Action("webhook", model_id, "keep", reason))
            self.emit(
                LogLine(
                    "webhook",
                    f"Left the webhook of {label} at Numerai as it is: {why}. If it points at "
                    "this deployment, clear it at numer.ai > your model > Compute.",
                    "warning",
                )
            )
        cleared = [a.name for a in out if a.action == "delete"]
        this.done("cleared" if cleared else "left as it is")
        return out

    # --- history (issue 13) ----------------------------------------------------------

    def history(self, limit: int = 10) -> History:
        """The Logic App's last ``limit`` runs joined with each model's recent submissions.

        Needs only the Azure sign-in; without the Numerai keys (or when Numerai cannot be
        reached) the runs are still listed and the note says why submissions are missing.
        """
        azure = self.azure()
        runs = azure.runs(limit)
        group = azure.status() if runs else None
        submissions: dict[str, list[Submission]] | None = None
        names: dict[str, str] = {}
        problem = ""
        n = self.settings.numerai
        if self.secrets.numerai_public_id and self.secrets.numerai_secret_key:
            numerai = self.numerai()
            try:
                names = {mid: name for name, mid in numerai.models().items()}
                submissions = {m: numerai.submissions(m, limit) for m in n.model_ids}
            except WizardError as exc:
                problem = exc.message
        if n.model_name and n.model_id and n.model_id not in names:
            names[n.model_id] = n.model_name
        return build_history(
            runs,
            submissions,
            group=group,
            trigger=self.settings.azure.trigger,
            model_names=names,
            numerai_problem=problem,
        )

    # --- rehearsal on this machine (issue 13) ----------------------------------------

    def rehearse(self, *, tail_lines: int = 40) -> Rehearsal:
        """Run the image deploy would ship on this machine's Docker engine, with the container
        group's environment, and check per model that a valid submission landed at Numerai.

        Raises WizardError (no_submission) when the run failed or a model did not submit:
        the message carries the container's error line.
        """
        d, n = self.settings.docker, self.settings.numerai
        numerai = self.numerai()
        image = d.image.strip()
        if d.build:
            with self.step("image", f"Building {image} on this machine") as this:
                self.engines.image.build(self.settings, emit=self.emit, cancel=self.cancel)
                this.done(f"built {image}")
        names: dict[str, str] = {}
        with self.step("before", "Reading each model's latest submission at Numerai") as this:
            try:
                names = {mid.lower(): name for name, mid in numerai.models().items()}
            except WizardError:
                names = {}
            before = {m: numerai.latest_submission(m) for m in n.model_ids}
            this.done()
        tail: list[str] = []

        def show(text: str) -> None:
            tail.append(text)
            del tail[:-tail_lines]
            self.emit(LogLine("rehearse", text))

        with self.step("rehearse", f"Running {image} on this machine (as ACI would)") as this:
            code = self.engines.image.run_local(
                image,
                local_env(self.settings, self.secrets, dict(os.environ)),
                on_text=show,
                username=d.username,
                password=self.secrets.docker_password or None,
                cancel=self.cancel,
            )
            this.done(f"the container exited with {code}")
        result = Rehearsal(image=image, exit_code=code, tail=tail)
        with self.step("submission", "Looking for the submissions at Numerai") as this:
            for model_id in n.model_ids:
                result.models.append(
                    ModelOutcome(
                        model_id,
                        names.get(model_id.lower(), ""),
                        before[model_id],
                        numerai.latest_submission(model_id),
                    )
                )
            for text in result.lines():
                self.emit(LogLine("submission", text))
            if not result.ok:
                why = error_line(tail)
                missing = ", ".join(result.missing) or "every model"
                raise WizardError(
                    f"the rehearsal failed: the container exited with {code} and no valid "
                    f"submission landed for {missing}" + (f": {why}" if why else ""),
                    "read the container's output above, fix the model (image/models/) and "
                    "rehearse again before the next round",
                    code=ErrorCode.NO_SUBMISSION,
                )
            this.done("every model's submission landed")
        return result


def _run_began(status: GroupStatus, before: GroupStatus | None) -> bool:
    """A run began since ``before``: the group is running, or it has a newer start time."""
    if status.state in ("Running", "Pending", "Starting"):
        return True
    started = status.started
    return started is not None and started != (before.started if before is not None else None)
