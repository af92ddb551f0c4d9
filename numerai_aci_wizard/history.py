"""Every round accounted for: the Logic App's runs joined with Numerai's submissions.

Pure: the engines read the runs (one per webhook call), the container group's last run
and each model's recent submissions; :func:`build_history` turns them into rows a
person reads ("round 1101: called 13:00:04, started, exit 0, submitted 13:04:51") and
``history --json`` prints. A run that started the container but after which no model
submitted is flagged; a failed run says why in the user's words, with what to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engines import GroupStatus, Submission, WorkflowRun

#: ARM / ACI error codes a failed start reports, by what the user has to do about them.
QUOTA_CODES = frozenset(
    {
        "QuotaExceeded",
        "ContainerGroupQuotaReached",
        "StandardCoresQuotaExceeded",
        "ResourceRequestsNotAvailable",
        "ServiceUnavailable",
        "SkuNotAvailable",
        "InsufficientCapacity",
    }
)
IMAGE_CODES = frozenset(
    {
        "InaccessibleImage",
        "ImageRegistryCredentialsInvalid",
        "InvalidImageRegistryCredential",
        "InvalidImageRegistryServer",
        "RegistryErrorResponse",
    }
)


@dataclass(frozen=True)
class ModelSubmission:
    """One submission Numerai holds for one of the models (``model``: its name, else its id)."""

    model: str
    round: int | None
    submitted: dt.datetime | None


@dataclass(frozen=True)
class HistoryRow:
    """One webhook call: what the Logic App did, and what came of it."""

    started: dt.datetime | None
    status: str  # "succeeded" | "failed" | "running" (the Logic App's run)
    detail: str  # the row in words
    run: str = ""
    ended: dt.datetime | None = None
    hint: str = ""  # what to do (failed or flagged runs)
    code: str = ""  # the failing action's error code, as Azure said it
    container_started: bool = False
    #: the container's state and exit code (the newest run only: ACI keeps one run)
    container_state: str = ""
    exit_code: int | None = None
    round: int | None = None
    submitted: tuple[ModelSubmission, ...] = ()
    #: the container was started but no model submitted after it
    no_submission: bool = False
    #: the run's details could not be read (its row says so; the others are as read)
    unreadable: bool = False


@dataclass(frozen=True)
class History:
    runs: tuple[HistoryRow, ...]
    submissions: tuple[ModelSubmission, ...]
    #: False when Numerai was not asked (no keys): rows are then never flagged
    submissions_known: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``history --json`` object (DESIGN.md): ISO-8601 UTC times, newest first."""
        return {
            "runs": [_row_dict(r) for r in self.runs],
            "submissions": [_submission_dict(s) for s in self.submissions],
            "submissions_known": self.submissions_known,
            "note": self.note,
        }


def iso(when: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` (a naive time is taken to be UTC already)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _submission_dict(s: ModelSubmission) -> dict[str, Any]:
    return {"model": s.model, "round": s.round, "submitted": iso(s.submitted)}


def _row_dict(r: HistoryRow) -> dict[str, Any]:
    return {
        "started": iso(r.started),
        "status": r.status,
        "detail": r.detail,
        "run": r.run,
        "ended": iso(r.ended),
        "hint": r.hint,
        "code": r.code,
        "container_started": r.container_started,
        "container_state": r.container_state or None,
        "exit_code": r.exit_code,
        "round": r.round,
        "submitted": [_submission_dict(s) for s in r.submitted],
        "no_submission": r.no_submission,
        "unreadable": r.unreadable,
    }


def explain_failure(run: WorkflowRun, trigger: str) -> tuple[str, str]:
    """Why a run could not start the container, and what to do, in the user's words."""
    code, message = run.code, run.message
    low = f"{code} {message}".lower()
    said = f" ({code}: {message})" if message else (f" ({code})" if code else "")
    refused_rights = (
        code in ("Forbidden", "AuthorizationFailed")
        or "does not have authorization" in low
        or "authorizationfailed" in low
    )
    if trigger == "api-connection" and refused_rights:
        # the connection is signed in (else: Unauthorized), but its account may not start it
        return (
            "the account the API connection 'aci' was authorized with may not start the "
            "container group" + said,
            "give that account Contributor (or Azure Container Instances Contributor) on the "
            "resource group, or authorize the connection again with an account that has it "
            "(portal > API connections > aci > Edit API connection > Authorize > Save)",
        )
    if trigger == "api-connection" and (
        code == "Unauthorized" or "not authorized" in low or "unauthorized" in low
    ):
        return (
            "the API connection 'aci' is not authorized yet, so the Logic App could not start "
            "the container" + said,
            "authorize it once in the Azure portal (the steps: numerai-aci-wizard status), "
            "then the next call starts the container",
        )
    if code == "AuthorizationFailed" or "authorizationfailed" in low:
        return (
            "AuthorizationFailed: the Logic App's managed identity may not start the container: "
            "its role assignment on the resource group is missing or not in effect yet" + said,
            "a new role assignment takes a few minutes to apply; if this persists, run deploy "
            "again as an Owner or User Access Administrator so it can create the assignment",
        )
    if code in IMAGE_CODES or ("image" in low and ("pull" in low or "accessible" in low)):
        return (
            "the image cannot be pulled, so the container could not start" + said,
            "check that the image exists in its registry and that the registry password is "
            "current, then run deploy again (with DOCKER_PASSWORD set)",
        )
    if code in QUOTA_CODES or "quota" in low or "capacity" in low:
        return (
            "Azure has no capacity or quota left for this container group in its region" + said,
            "lower the CPU or memory, choose another region, or ask for more quota "
            "(portal > Subscriptions > Usage + quotas), then run deploy again",
        )
    if code in ("ResourceNotFound", "ResourceGroupNotFound", "NotFound"):
        return (
            "the container group the Logic App starts does not exist" + said,
            "run deploy again to create it",
        )
    what = f" (action {run.failed_action})" if run.failed_action else ""
    return (
        f"the Logic App could not start the container{what}" + said,
        "read the run in the portal (Logic App > Run history); run deploy again if settings changed",
    )


def _time(when: dt.datetime | None) -> str:
    return "?" if when is None else when.astimezone(dt.UTC).strftime("%H:%M:%S")


def _aware(when: dt.datetime | None) -> dt.datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    return when


def build_history(
    runs: Sequence[WorkflowRun],
    submissions: Mapping[str, Sequence[Submission]] | None,
    *,
    group: GroupStatus | None = None,
    trigger: str = "api-connection",
    model_names: Mapping[str, str] | None = None,
    numerai_problem: str = "",
) -> History:
    """Join the runs (newest first) with each model's submissions and the container's last run.

    A submission belongs to the newest run that started at or before it; the container's
    state and exit code go with the newest run that started it. ``submissions`` None: not
    known (no Numerai keys, or ``numerai_problem`` says why), so nothing is flagged.
    """
    names = {k.lower(): v for k, v in (model_names or {}).items()}
    known = submissions is not None
    flat: list[ModelSubmission] = []
    for model_id, subs in (submissions or {}).items():
        label = names.get(model_id.lower()) or model_id
        flat.extend(ModelSubmission(label, s.round, _aware(s.inserted_at)) for s in subs)
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    flat.sort(key=lambda s: (s.submitted or epoch, s.round or 0), reverse=True)

    ordered = sorted(runs, key=lambda r: _aware(r.started) or epoch, reverse=True)
    rows: list[HistoryRow] = []
    newer_start: dt.datetime | None = None  # the next newer run's start: this run's window end
    newest_started = True
    for run in ordered:
        start = _aware(run.started)
        mine = tuple(
            s
            for s in flat
            if s.submitted is not None
            and start is not None
            and s.submitted >= start
            and (newer_start is None or s.submitted < newer_start)
        )
        rows.append(_row(run, mine, group if newest_started else None, trigger, known))
        if run.status != "failed":
            newest_started = False  # the group's one remembered run is the newest start's
        newer_start = start or newer_start
    note = ""
    if not known:
        note = (
            f"Numerai's submissions could not be read: {numerai_problem}"
            if numerai_problem
            else "Numerai's submissions were not read: set NUMERAI_PUBLIC_ID and "
            "NUMERAI_SECRET_KEY to see them"
        )
    return History(tuple(rows), tuple(flat), submissions_known=known, note=note)


def _row(
    run: WorkflowRun,
    mine: tuple[ModelSubmission, ...],
    group: GroupStatus | None,
    trigger: str,
    known: bool,
) -> HistoryRow:
    called = f"called {_time(run.started)}"
    rounds = sorted({s.round for s in mine if s.round is not None})
    number = rounds[-1] if rounds else None
    prefix = f"round {number}: " if number is not None else ""
    if run.status == "failed" and run.unreadable:
        return HistoryRow(
            started=run.started,
            ended=run.ended,
            status="failed",
            run=run.name,
            detail=f"{prefix}{called}, failed; why could not be read: {run.unreadable}",
            hint="read the run in the portal (Logic App > Run history), or run history again",
            unreadable=True,
        )
    if run.status == "failed":
        detail, hint = explain_failure(run, trigger)
        return HistoryRow(
            started=run.started,
            ended=run.ended,
            status="failed",
            run=run.name,
            code=run.code,
            detail=f"{prefix}{called}, not started: {detail}",
            hint=hint,
        )
    if run.status == "running":
        return HistoryRow(
            started=run.started,
            status="running",
            run=run.name,
            detail=f"{prefix}{called}, the Logic App is still starting the container",
        )
    parts = [called, "started"]
    state, exit_code = "", None
    running = False
    if group is not None and group.exists:
        state, exit_code = group.state, group.exit_code
        running = group.running
        if running:
            parts.append(f"running ({state})")
        elif exit_code is not None:
            parts.append(f"exit {exit_code}")
    for s in mine:
        parts.append(f"submitted {_time(s.submitted)} ({s.model})")
    flagged = known and not mine and not running
    hint = ""
    if flagged:
        parts.append("NO SUBMISSION")
        hint = "read the container's output (numerai-aci-wizard logs) for the reason"
        if exit_code not in (None, 0):
            hint = f"the container exited with {exit_code}: " + hint
    return HistoryRow(
        started=run.started,
        ended=run.ended,
        status="succeeded",
        run=run.name,
        detail=prefix + ", ".join(parts),
        hint=hint,
        container_started=True,
        container_state=state,
        exit_code=exit_code,
        round=number,
        submitted=mine,
        no_submission=flagged,
    )
