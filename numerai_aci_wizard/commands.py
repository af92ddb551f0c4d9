"""Running one headless command: settings in, printed result and exit code out.

Every failure ends here as a WizardError and becomes "what failed, why, what to do"
on stderr, never a traceback. Human lines go to stdout; with ``--json`` stdout holds
exactly one JSON document and progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from . import present, redact
from . import secrets as secret_sources
from .events import (
    ErrorCode,
    Event,
    Progress,
    StepFinished,
    WizardError,
    describe,
)
from .logs import log_path, setup_logging
from .pipeline import Pipeline
from .plan import Plan
from .present import event_lines
from .session import Session
from .settings import SecretField, Secrets, Settings
from .store import Resolved, resolve

Handler = Callable[["Context"], int]


class Output:
    """Human lines on stdout (plain when not a terminal), or nothing but JSON with --json."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.is_tty = sys.stdout.isatty()
        self._lock = threading.Lock()

    @property
    def human(self) -> TextIO:
        """Where progress goes: stdout, or stderr when stdout is reserved for JSON."""
        return sys.stderr if self.json_mode else sys.stdout

    def line(self, text: str = "", *, raw: bool = False) -> None:
        """A human line; whatever came from outside in it is shown, never executed (``raw``:
        not masked either, for the webhook URL the user copies)."""
        shown = redact.escape_controls(text) if raw else redact.shown(text)
        with self._lock:
            print(shown, file=self.human, flush=True)

    def lines(self, lines: Iterable[present.Line]) -> None:
        """The presenter's lines, a human line each (their text; tones are for the wizard)."""
        for line in lines:
            self.line(str(line))

    def json(self, data: Any) -> None:
        print(json.dumps(_plain(data), indent=2 if self.is_tty else None), flush=True)

    def warn(self, text: str) -> None:
        print(f"warning: {redact.shown(text)}", file=sys.stderr, flush=True)

    def error(self, error: WizardError) -> None:
        """The one place a failure is shown: stderr for people; with --json, one object on stdout."""
        body = {key: redact.shown(value) for key, value in error.to_dict().items()}
        message, hint = body["message"], body["hint"]
        if self.json_mode:
            print(json.dumps({"error": body}), flush=True)
        print(f"error: {message}", file=sys.stderr)
        if hint:
            print(f"  what to do: {hint}", file=sys.stderr)
        sys.stderr.flush()


#: How the terminal sets a step's own output apart from the steps' lines.
OUTPUT_INDENT = {"output": "    ", "debug": "    ", "warning": "  ! "}


class EventPrinter:
    """Renders pipeline events as lines; progress is throttled to a few lines per step."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self._shown: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._progress(event)
            return
        if isinstance(event, StepFinished) and not event.summary:
            return
        for line in event_lines(event):
            self.out.line(OUTPUT_INDENT.get(line.tone, "") + line.text)

    def _progress(self, event: Progress) -> None:
        if event.total <= 0:
            return
        if event.unit == "B":
            bucket = int(event.done * 4 // event.total)  # every 25 %
            if self._shown.get(event.step) == bucket:
                return
            self._shown[event.step] = bucket
            self.out.line(f"    {event.step}: {event.amount()}")
        # steps ("Step k/n") already arrive as log lines


def _plain(data: Any) -> Any:
    if is_dataclass(data) and not isinstance(data, type):
        return _plain(asdict(data))
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(v) for v in data]
    if hasattr(data, "isoformat"):
        return data.isoformat()
    return data


class Context:
    def __init__(
        self, command: str, args: argparse.Namespace, resolved: Resolved, out: Output
    ) -> None:
        self.command = command
        self.args = args
        self.resolved = resolved
        self.settings = resolved.settings
        self.config_path: Path = resolved.loaded.path
        self.out = out
        self.interactive = sys.stdin.isatty() and not out.json_mode
        #: set by SIGTERM (and Ctrl+C): every pipeline stops at its next safe point
        self.cancel = threading.Event()

    def secrets(self, command: str | None = None, *, optional: tuple[str, ...] = ()) -> Secrets:
        needed = secret_sources.needed_for(command or self.command, self.settings)
        found = secret_sources.resolve(
            self.settings,
            needed,
            optional=optional,
            prompt=_ask_secret if self.interactive else None,
        )
        for note in found.notes:
            self.out.warn(note)
        if self.settings.secrets.keyring and "prompt" in found.sources.values():
            self.out.line(secret_sources.remember(found.secrets))
        return found.secrets

    def session(self, secrets: Secrets | None = None) -> Session:
        return Session(
            self.settings,
            config_path=self.config_path,
            secrets=secrets,
            on_device_code=self._device_code,
            allow_device_code=sys.stdin.isatty() or sys.stderr.isatty(),
        )

    def pipeline(self, secrets: Secrets | None = None) -> Pipeline:
        return self.session(secrets).pipeline(emit=EventPrinter(self.out), cancel=self.cancel)

    def _device_code(self, uri: str, code: str, expires: datetime | None) -> None:
        print(
            f"To sign in to Azure, open {uri} and enter the code {code}",
            file=sys.stderr,
            flush=True,
        )

    def confirm(self, question: str, flag: str = "--yes") -> None:
        if getattr(self.args, "yes", False):
            return
        if not self.interactive:
            raise WizardError(
                f"{self.command} changes Azure resources and needs a confirmation",
                f"there is no terminal to ask on: pass {flag} to go ahead",
                code=ErrorCode.NEEDS_CONFIRMATION,
            )
        answer = input(f"{question} [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise WizardError("cancelled: nothing was changed", code=ErrorCode.CANCELLED)


def _ask_secret(spec: SecretField, reason: str | None) -> str | None:
    if reason:
        print(f"  {reason}", file=sys.stderr)
    try:
        return getpass.getpass(f"{spec.label} (input hidden; or set {spec.env}): ")
    except (EOFError, KeyboardInterrupt):
        return None


# --- the commands ------------------------------------------------------------------


def _plan(ctx: Context) -> int:
    pipeline = ctx.pipeline()
    pipeline.validate()
    # the region's limits, as deploy checks them: a plan must not promise what deploy refuses
    pipeline.validate(pipeline.azure().region_limits(ctx.settings.azure.location))
    plan = pipeline.plan()
    if ctx.out.json_mode:
        ctx.out.json(plan.to_dict())
        return 0
    _print_plan(ctx, plan)
    _print_cost(ctx)
    return 0


def _print_plan(ctx: Context, plan: Plan) -> None:
    width = max((len(f"{a.resource} {a.name}") for a in plan.actions), default=10)
    ctx.out.line("")
    for a in plan.actions:
        ctx.out.line(f"  {a.action:<8} {f'{a.resource} {a.name}':<{width}}  {a.reason}")
    changes = len(plan.changes)
    ctx.out.line("")
    ctx.out.line(
        "Nothing to change."
        if not changes
        else f"{changes} change{'' if changes == 1 else 's'} pending: run deploy to apply."
    )


def _print_cost(ctx: Context) -> None:
    args = ctx.args
    a = ctx.settings.azure
    est = ctx.session().estimate(
        a.location,
        a.cpu,
        a.memory_gb,
        run_minutes=args.run_minutes,
        lookup=not args.no_price_lookup,
    )
    for text in est.lines(models=len(ctx.settings.numerai.model_ids)):
        ctx.out.line(text)


def _deploy(ctx: Context) -> int:
    secrets = ctx.secrets()
    pipeline = ctx.pipeline(secrets)
    pipeline.adopt = bool(getattr(ctx.args, "adopt", False))
    if not getattr(ctx.args, "yes", False):
        if not ctx.interactive:
            ctx.confirm("")
        plan = pipeline.plan()
        _print_plan(ctx, plan)
        _print_cost(ctx)
        ctx.confirm("Go ahead?")
    elif not ctx.out.json_mode:
        _print_cost(ctx)
    result = pipeline.deploy()
    conn = result.connection
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "webhook_url": result.webhook_url,
                "actions": result.plan.to_dict()["actions"],
                "webhook_registered": result.webhook_registered,
                "webhook_model": result.webhook_model,
                "models": result.models,
                "connection": conn,
                "manual_steps": result.manual_steps,
            }
        )
        return 0
    ctx.out.line("")
    ctx.out.line(str(present.changed_line(result.changed)))
    for note in result.notes:
        ctx.out.line(note)
    ctx.out.lines(present.numerai_lines(result))
    ctx.out.line("")
    ctx.out.line(present.WEBHOOK_URL_LABEL)
    ctx.out.line(result.webhook_url, raw=True)  # whole, on its own line, never wrapped or masked
    if result.manual_steps:
        ctx.out.line("")
        ctx.out.lines(present.manual_step_lines(result.manual_steps))
    return 0


def _status(ctx: Context) -> int:
    pipeline = ctx.pipeline(ctx.secrets(optional=secret_sources.NUMERAI_KEYS))
    pipeline.validate()
    status = pipeline.status()
    models = pipeline.models_status()
    connection = None
    webhook_url = None
    if status.exists:  # the rest is said when Azure tells it; the state above stands alone
        with contextlib.suppress(WizardError):
            connection = pipeline.connection()
        with contextlib.suppress(WizardError):
            webhook_url = pipeline.webhook_url()
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "container_group": status,
                "connection": connection,
                "models": models,
                "webhook_url": webhook_url,
            }
        )
        return 0
    a = ctx.settings.azure
    ctx.out.lines(
        present.status_lines(
            status,
            models,
            connection,
            container_group=a.container_group,
            resource_group=a.resource_group,
            location=a.location,
        )
    )
    if webhook_url:
        ctx.out.line(present.WEBHOOK_URL_LABEL)
        ctx.out.line(webhook_url, raw=True)  # whole, on its own line, never wrapped or masked
    return 0


def _logs(ctx: Context) -> int:
    pipeline = ctx.pipeline()
    pipeline.validate()
    azure = pipeline.azure()
    if ctx.args.follow:
        status = azure.follow_logs(lambda text: ctx.out.line(text.rstrip("\n")))
        ctx.out.line(f"(the run ended: {status.state or 'unknown'})")
        return 0
    text = azure.logs(ctx.args.tail)
    if ctx.out.json_mode:
        ctx.out.json({"logs": redact.redact(text)})
    else:
        ctx.out.line(text.rstrip("\n") or "(no output)")
    return 0


def _rehearse(ctx: Context) -> int:
    secrets = ctx.secrets(optional=("docker_password",))  # to pull a private image, if needed
    pipeline = ctx.pipeline(secrets)
    pipeline.validate()
    result = pipeline.rehearse()
    if ctx.out.json_mode:
        ctx.out.json(result.to_dict())
    else:
        ctx.out.line("The rehearsal passed: every model's submission landed at Numerai.")
    return 0


def _trigger(ctx: Context) -> int:
    if getattr(ctx.args, "local", False):
        return _rehearse(ctx)
    secrets = ctx.secrets()
    pipeline = ctx.pipeline(secrets)
    pipeline.validate()
    result = pipeline.trigger(follow=not ctx.args.no_follow, timeout=ctx.args.timeout)
    if ctx.out.json_mode:
        ctx.out.json(
            {
                "trigger_id": result.trigger_id,
                "submission": result.after,
                "landed": result.landed,
                "models": [
                    {
                        "model": pipeline.model_label(m),
                        "model_id": m,
                        "submission": result.after_by_model.get(m),
                        "landed": result.landed_for(m),
                    }
                    for m in result.before_by_model
                ],
            }
        )
    elif not ctx.args.no_follow:
        for m in result.before_by_model:
            ctx.out.line(f"A submission landed at Numerai for {pipeline.model_label(m)}.")
    return 0


def _history(ctx: Context) -> int:
    secrets = ctx.secrets(optional=secret_sources.NUMERAI_KEYS)
    pipeline = ctx.pipeline(secrets)
    pipeline.validate()
    found = pipeline.history(ctx.args.limit)
    if ctx.out.json_mode:
        ctx.out.json(found.to_dict())
        return 0
    a = ctx.settings.azure
    ctx.out.line(f"Webhook calls of Logic App {a.logic_app} ({a.resource_group}), newest first:")
    ctx.out.lines(present.history_lines(found))
    return 0


def _destroy(ctx: Context) -> int:
    secrets = ctx.secrets(optional=secret_sources.NUMERAI_KEYS)
    pipeline = ctx.pipeline(secrets)
    pipeline.validate()
    a = ctx.settings.azure
    ctx.confirm(
        f"Delete the container group {a.container_group}, the Logic App {a.logic_app} and the rest in {a.resource_group}?"
    )
    removed = pipeline.destroy()
    if ctx.out.json_mode:
        ctx.out.json({"actions": [asdict(r) for r in removed]})
    else:
        deleted = [r for r in removed if r.action == "delete"]  # only what really went
        ctx.out.line(
            "Removed: "
            + (
                ", ".join(f"{r.resource} {r.name}" for r in deleted)
                or "nothing (nothing was there)"
            )
        )
        for kept in (r for r in removed if r.action == "keep"):
            ctx.out.line(f"Kept: {kept.resource} {kept.name} ({kept.reason})")
    return 0


#: the commands that write to Azure or Numerai (plan too: it decides what deploy writes).
#: An unknown key stops them; status, logs and history only read, and warn about it.
ACTING = frozenset({"plan", "deploy", "destroy", "trigger"})

HANDLERS: dict[str, Handler] = {
    "plan": _plan,
    "deploy": _deploy,
    "status": _status,
    "logs": _logs,
    "trigger": _trigger,
    "destroy": _destroy,
    "history": _history,
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: the pipelines' cancel is set, the command ends (143)."""


def terminating_signals(module: Any = signal) -> list[int]:
    """SIGTERM, and on Windows SIGBREAK: Ctrl+Break, or the console window being closed."""
    found = [module.SIGTERM]
    if hasattr(module, "SIGBREAK"):
        found.append(module.SIGBREAK)
    return found


class _OnSigterm:
    """Turns SIGTERM (SIGBREAK on Windows) into :class:`Terminated` in the main thread,
    after setting ``cancel`` so worker threads stop at their next safe point too (a
    service manager or ``kill`` must not leave a half-written deployment running on)."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.received = False
        self.name = "SIGTERM"
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _OnSigterm:
        if threading.current_thread() is threading.main_thread():
            for signum in terminating_signals():
                with contextlib.suppress(ValueError, OSError):  # an embedding without signals
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum: int, frame: object) -> None:
        self.cancel.set()
        if not self.received:
            self.received = True
            self.name = signal.Signals(signum).name
            raise Terminated()


def _terminated(name: str = "SIGTERM") -> WizardError:
    return WizardError(
        f"terminated ({name}): stopped at a safe point",
        "run the same command again: it continues from what exists",
        code=ErrorCode.INTERRUPTED,
        exit_code=143,
    )


#: the secrets a command may meet in its output, registered for masking before anything runs
SECRET_ENV = ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY", "DOCKER_PASSWORD")


def run_command(command: str, args: argparse.Namespace, cli_values: dict[str, Any]) -> int:
    out = Output(json_mode=bool(getattr(args, "json", False)))
    # every command masks the secrets in its environment: a container may echo them
    redact.register(*(os.environ.get(name, "") for name in SECRET_ENV))
    cancel = threading.Event()
    with _OnSigterm(cancel) as sigterm:
        try:
            code = _run(command, args, cli_values, out, cancel)
            if sigterm.received:
                raise Terminated()
            return code
        except BaseException as exc:  # noqa: BLE001 - the one place a failure becomes output
            if isinstance(exc, SystemExit):
                raise
            cancel.set()  # worker threads stop at their next safe point
            error = _terminated(sigterm.name) if sigterm.received else describe(exc)
            return _failed(command, error, out)


def _failed(command: str, error: WizardError, out: Output) -> int:
    if error.code == ErrorCode.UNEXPECTED:
        # a bug, not a user error: keep the traceback in the log, not on screen
        logging.getLogger("numerai_aci_wizard").exception("unexpected failure in %s", command)
        error.hint = f"details are in {log_path()}; please report it with that file"
    else:
        logging.getLogger("numerai_aci_wizard").info(
            "%s failed (%s): %s", command, error.code, error.message
        )
    out.error(error)
    return error.exit_code


def _run(
    command: str,
    args: argparse.Namespace,
    cli_values: dict[str, Any],
    out: Output,
    cancel: threading.Event | None = None,
) -> int:
    resolved = resolve(getattr(args, "config", None), cli_values)
    if getattr(args, "config", None) is not None:
        resolved.require_file()  # a --config that is not there: not the defaults instead
    acting = command in ACTING
    for warning in resolved.warnings(acting=acting):
        out.warn(warning)
    # a bad value stops here: nothing reaches Azure, the file stays; an unknown key too,
    # for a command that acts (the default would stand in for what the user meant)
    resolved.require_valid(acting=acting)
    setup_logging()
    if not (command == "trigger" and getattr(args, "local", False)):  # --local uses no Azure
        endpoint_note(resolved.settings, out)
    ctx = Context(command, args, resolved, out)
    if cancel is not None:
        ctx.cancel = cancel
    logging.getLogger("numerai_aci_wizard").info("command %s started", command)
    return HANDLERS[command](ctx)


def endpoint_note(settings: Settings, out: Output) -> None:
    """Say once (stderr) where the Azure token goes when it is not the cloud's own ARM."""
    from .clouds import cloud

    endpoint = settings.azure.endpoint.rstrip("/")
    default = cloud(settings.azure.cloud).arm_endpoint.rstrip("/")
    if endpoint.lower() != default.lower():
        print(
            f"note: talking to Azure Resource Manager at {endpoint} (not {default}): "
            "your Azure token is sent there",
            file=sys.stderr,
            flush=True,
        )
