"""Progress events and the one failure type: the vocabulary every service speaks.

Services never print and never touch a UI: they call ``emit(event)`` inside a
:func:`step`. The TUI turns events into Textual messages; the CLI prints them. Each
event names its ``step`` (a short stable id such as ``"build"`` or ``"container_group"``).
A failure is a :class:`WizardError` that carries a stable :class:`ErrorCode`, whether a
StepFailed event already told the user (``reported``) and, where a setting is to blame,
which one (``field``); :func:`describe` turns any exception into one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Event:
    """Something the pipeline reports about one of its steps."""

    step: str


@dataclass(frozen=True)
class StepStarted(Event):
    """A step began."""

    title: str


@dataclass(frozen=True)
class Progress(Event):
    """``done`` of ``total`` units (``total`` 0 when unknown). Never goes backwards within a step.

    ``unit``: "B" (bytes, a push), "steps" (a build), "s" (seconds waited on Azure).
    """

    done: float
    total: float
    unit: str = ""
    detail: str = ""

    def amount(self) -> str:
        """How far, as both front ends say it: "12.0 MB of 45.6 MB", "3 of 7 steps"."""
        if self.unit == "B":
            return f"{_bytes(self.done)} of {_bytes(self.total)}"
        return f"{self.done:.0f} of {self.total:.0f}" + (f" {self.unit}" if self.unit else "")


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


@dataclass(frozen=True)
class LogLine(Event):
    """A line of a step's output."""

    text: str
    level: str = "info"  # info | warning | debug


@dataclass(frozen=True)
class Action:
    """One planned change to one resource (``action``: create, update, recreate, keep, delete).

    The plan is made of these (plan.py re-exports it); a step that carried one out names it
    in its StepFinished, so no front end guesses from a summary's words what changed.
    """

    resource: str
    name: str
    action: str
    reason: str


@dataclass(frozen=True)
class StepFinished(Event):
    """A step ended well: what it did (``summary``) and, when it changed Azure, the plan's
    action it carried out (``change``; None when it left Azure as it was)."""

    summary: str = ""
    change: Action | None = None


@dataclass(frozen=True)
class Planned(Event):
    """The plan a run follows, once it is made and before anything changes."""

    actions: tuple[Action, ...]


@dataclass(frozen=True)
class GroupStopped(Event):
    """The container group was stopped after a create or update: its first run is over.

    The pipeline records the stop as pending before the create is sent and clears it on
    this, so an interruption anywhere in between is repaired by the next run.
    """

    group: str


@dataclass(frozen=True)
class StepFailed(Event):
    """A step failed: the error itself, with its code and the setting to blame (``field``)."""

    error: WizardError

    @property
    def message(self) -> str:
        return self.error.message

    @property
    def hint(self) -> str:
        return self.error.hint


@dataclass(frozen=True)
class Removed(Event):
    """A resource is gone from Azure while its step goes on: a resize deletes the container
    group before it creates it again. Until the step's StepFinished, Azure does not hold it,
    so a run that ends before then must say so (the next round would find nothing to start)."""

    resource: str
    name: str


Emit = Callable[[Event], None]


def ignore(_: Event) -> None:
    """An ``emit`` for callers that do not care about progress."""


class ErrorCode(StrEnum):
    """The stable codes of ``--json`` error objects (``{"error": {"code": ...}}``).

    Scripts branch on these: a value never changes meaning and is never reused.
    What a service upstream called the failure (ARM's ``AuthorizationFailed``, say) is
    kept apart, in :attr:`WizardError.upstream`.
    """

    # the command or its inputs (exit 2)
    BAD_SETTINGS = "bad_settings"
    BAD_USAGE = "bad_usage"
    MISSING_SECRET = "missing_secret"
    NEEDS_CONFIRMATION = "needs_confirmation"
    NOT_AVAILABLE = "not_available"
    LOCKED = "locked"
    NOT_OURS = "not_ours"
    # the operation (exit 1 unless the user must change something)
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    UNEXPECTED = "unexpected"
    # Azure
    AZURE_SIGN_IN = "azure_sign_in"
    AZURE_WRONG_TENANT = "azure_wrong_tenant"
    AZURE_FORBIDDEN = "azure_forbidden"
    AZURE_UNREACHABLE = "azure_unreachable"
    AZURE_NOT_FOUND = "azure_not_found"
    AZURE_CONFLICT = "azure_conflict"
    AZURE_THROTTLED = "azure_throttled"
    AZURE_SERVER_ERROR = "azure_server_error"
    AZURE_REGION = "azure_region"
    AZURE_QUOTA = "azure_quota"
    AZURE_IMAGE_PULL = "azure_image_pull"
    AZURE_REFUSED = "azure_refused"
    AZURE_NO_IDENTITY = "azure_no_identity"
    AZURE_POLICY = "azure_policy"
    AZURE_PROVIDERS = "azure_providers"
    CONNECTION_UNAUTHORIZED = "connection_unauthorized"
    RUN_NOT_STARTED = "run_not_started"
    NO_SUBMISSION = "no_submission"
    # Docker and registries
    BAD_IMAGE = "bad_image"
    CONTEXT_MISSING = "context_missing"
    NO_DOCKERFILE = "no_dockerfile"
    DOCKERFILE_PARSE = "dockerfile_parse"
    BASE_IMAGE_MISSING = "base_image_missing"
    COPY_SOURCE_MISSING = "copy_source_missing"
    RUN_FAILED = "run_failed"
    BUILD_FAILED = "build_failed"
    DISK_FULL = "disk_full"
    DAEMON_UNREACHABLE = "daemon_unreachable"
    DAEMON_PERMISSION = "daemon_permission"
    DAEMON_LOST = "daemon_lost"
    IMAGE_MISSING_LOCALLY = "image_missing_locally"
    PUSH_FAILED = "push_failed"
    TAG_MISSING = "tag_missing"
    UNAUTHORIZED = "unauthorized"
    REGISTRY_UNREACHABLE = "registry_unreachable"
    REGISTRY_THROTTLED = "registry_throttled"
    REGISTRY_ERROR = "registry_error"
    IMAGE_PLATFORM = "image_platform"
    IMAGE_PUBLIC = "image_public"
    # Numerai
    NUMERAI_BAD_KEYS = "numerai_bad_keys"
    NUMERAI_SCOPE = "numerai_scope"
    NUMERAI_MODEL = "numerai_model"
    NUMERAI_UNREACHABLE = "numerai_unreachable"
    NUMERAI_REFUSED = "numerai_refused"
    NUMERAI_NO_ROUND = "numerai_no_round"
    # the cost estimate
    BAD_ESTIMATE_INPUT = "bad_estimate_input"


#: Codes that mean "change something and run again" (exit 2) whatever raised them.
USAGE_CODES = frozenset(
    {
        ErrorCode.BAD_SETTINGS,
        ErrorCode.BAD_USAGE,
        ErrorCode.MISSING_SECRET,
        ErrorCode.NEEDS_CONFIRMATION,
        ErrorCode.NOT_AVAILABLE,
        ErrorCode.LOCKED,
        ErrorCode.NOT_OURS,
    }
)


class WizardError(Exception):
    """A failure a user can act on: what failed and why (``message``), what to do (``hint``).

    ``exit_code`` follows the CLI contract: 1 the operation failed, 2 bad usage, bad
    settings, missing secrets or an unavailable capability. ``code`` is the stable
    machine code; ``upstream`` what Azure, Docker or Numerai called it; ``field`` the
    setting (``"azure.cpu"``) or secret (``"docker_password"``) to fix, if one is to
    blame, so the wizard lands on it and the CLI names its option. ``reported`` is set
    once a StepFailed event has shown it, so no outer step says it twice.
    """

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        exit_code: int | None = None,
        code: ErrorCode = ErrorCode.FAILED,
        upstream: str = "",
        field: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.exit_code = exit_code if exit_code is not None else (2 if code in USAGE_CODES else 1)
        self.upstream = upstream
        self.field = field
        self.reported = False

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def to_dict(self) -> dict[str, str]:
        """The ``--json`` error object's body."""
        return {"code": str(self.code), "message": self.message, "hint": self.hint}


class Cancelled(Exception):
    """The caller set the cancel event; the operation stopped where it was."""

    reported = False


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


@dataclass(frozen=True)
class Step:
    """An open step: :meth:`done` says how it ended well (StepFinished) and closes it."""

    emit: Emit
    name: str

    def done(self, summary: str = "", *, change: Action | None = None) -> None:
        """Emit the step's StepFinished: what it did and, if it changed Azure, the action."""
        self.emit(StepFinished(self.name, summary, change))


@contextmanager
def step(
    emit: Emit,
    name: str,
    title: str,
    *,
    cancel: threading.Event | None = None,
    field: str = "",
) -> Iterator[Step]:
    """Bracket a step: StepStarted now; StepFailed once if a failure leaves it.

    The caller ends it well with the handle's ``done(summary, change=...)`` (or emits
    StepFinished itself). A failure an inner step already reported is not reported
    again by the steps around it. ``field``: the setting whose answer the step acts on,
    given to a failure that names none (the wizard's Back lands there).
    """
    check_cancel(cancel)
    emit(StepStarted(name, title))
    try:
        yield Step(emit, name)
    except WizardError as exc:
        if field and not exc.field:
            exc.field = field
        fail(emit, name, exc)
        raise
    except Cancelled as exc:
        if not exc.reported:
            exc.reported = True
            cancelled = WizardError(
                "cancelled",
                "run again to continue from here",
                code=ErrorCode.CANCELLED,
                exit_code=130,
            )
            emit(StepFailed(name, cancelled))
        raise


def fail(emit: Emit, name: str, error: WizardError) -> WizardError:
    """Report ``error`` for ``name`` (a step bracketed elsewhere) and hand it back to raise."""
    if not error.reported:
        error.reported = True
        emit(StepFailed(name, error))
    return error


def describe(exc: BaseException) -> WizardError:
    """Any exception as a WizardError a person can read: the one translation every front end uses.

    A WizardError is itself; a cancel says so; an OS error says what the system refused,
    without Python's ``FileNotFoundError(2, ...)`` text; anything else is a bug, named
    by its type, with the log as the place to look.
    """
    if isinstance(exc, WizardError):
        return exc
    if isinstance(exc, Cancelled):
        error = WizardError(
            "cancelled: stopped at a safe point",
            "run again: it continues from what exists",
            code=ErrorCode.CANCELLED,
            exit_code=130,
        )
        error.reported = exc.reported
        return error
    if isinstance(exc, KeyboardInterrupt):
        return WizardError(
            "interrupted",
            "run the same command again: it continues from what exists",
            code=ErrorCode.INTERRUPTED,
            exit_code=130,
        )
    if isinstance(exc, OSError):
        what = exc.strerror or type(exc).__name__
        # a move names its destination second: the file the user knows (the first is often
        # our own temporary file, written beside it to replace it at once)
        path = exc.filename2 or exc.filename
        where = f": {path}" if path else ""
        return WizardError(
            f"the system refused an operation ({what}{where})",
            "check the path and its permissions, then run again",
        )
    from .redact import redact

    return WizardError(
        f"unexpected failure: {type(exc).__name__}: {redact(str(exc))}",
        "details are in the log (command palette > Open log file, or the state dir); "
        "please report it with that file",
        code=ErrorCode.UNEXPECTED,
    )
