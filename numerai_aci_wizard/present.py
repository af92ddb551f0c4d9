"""Facts as words: the one place events, errors, a deploy's outcome and history rows become text.

Pure on purpose (no Textual, no printing, no redaction): each function returns
:class:`Line` s, a text and a *tone* that says what kind of fact it is. The CLI prints
the text (``commands``), the log file records it (``logs``), and one TUI helper
(``tui/style.py``) maps each tone to a style. So the wizard, the terminal and the log
say a fact in the same words, and no front end reads a fact back out of the words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .events import (
    Action,
    ErrorCode,
    Event,
    LogLine,
    StepFailed,
    StepFinished,
    StepStarted,
    WizardError,
)
from .plan import AZURE_RESOURCES

if TYPE_CHECKING:
    from .engines import ConnectionStatus, GroupStatus
    from .history import History
    from .pipeline import DeployResult, ModelStatus

#: What kind of fact a line says; the TUI gives each its own style, the CLI prints the text.
Tone = Literal[
    "plain",  # a sentence
    "start",  # a step began
    "done",  # a step ended well
    "ok",  # something went well
    "success",  # the whole operation went well
    "failed",  # something failed
    "warning",  # look at this
    "output",  # a line a step's tool printed
    "debug",  # a detail for the log
    "strong",  # a headline
    "dim",  # a detail next to a headline
    "running",  # under way
]


@dataclass(frozen=True)
class Line:
    """One line to show: ``lead`` (in its own tone, e.g. a mark or a label) then ``text``."""

    text: str
    tone: Tone = "plain"
    lead: str = ""
    lead_tone: Tone = "plain"

    def __str__(self) -> str:
        return self.lead + self.text


def texts(lines: Sequence[Line]) -> list[str]:
    """The lines as plain strings, for a terminal or a file."""
    return [str(line) for line in lines]


# --- events ------------------------------------------------------------------------------


def event_lines(event: Event) -> list[Line]:
    """A pipeline event in the words both front ends use: ``-> title``, ``ok summary``,
    ``xx message``, one line per output line.

    Progress is not said here: each front end shows it its own way (a bar, a line every 25 %).
    """
    if isinstance(event, StepStarted):
        return [Line(f"-> {event.title}", "start")]
    if isinstance(event, StepFinished):
        return [Line("ok" + (f" {event.summary}" if event.summary else ""), "done")]
    if isinstance(event, StepFailed):
        return [Line(f"xx {event.error.message}", "failed")]
    if isinstance(event, LogLine):
        tone: Tone = "warning" if event.level == "warning" else "output"
        if event.level == "debug":
            tone = "debug"
        return [Line(text, tone) for text in event.text.rstrip("\n").splitlines() or [""]]
    return []


def log_text(event: Event) -> str:
    """An event as the log file records it after its step's id (``[build] ...``): the title,
    ``done: summary``, ``failed: message (hint)``, a step's output as it came; "" for
    progress ticks (they say nothing new). Words of their own: a step's id already leads."""
    if isinstance(event, StepStarted):
        return event.title
    if isinstance(event, StepFinished):
        return "done" + (f": {event.summary}" if event.summary else "")
    if isinstance(event, StepFailed):
        hint = f" ({event.error.hint})" if event.error.hint else ""
        return f"failed: {event.error.message}{hint}"
    if isinstance(event, LogLine):
        return event.text.rstrip("\n")
    return ""


# --- a run's steps -----------------------------------------------------------------------

#: A step as a run's list shows it: (state, title, summary); state is running, done,
#: failed or stopped (the run ended while it was under way).
StepRow = tuple[str, str, str]
MARKS = {"running": "…", "done": "✓", "failed": "✗", "stopped": "-"}
STEP_TONES: dict[str, Tone] = {"done": "ok", "failed": "failed", "running": "running"}


def step_lines(steps: Mapping[str, StepRow]) -> list[Line]:
    """A run's steps, one line each: the mark and title, then what it did or why it failed."""
    lines = []
    for state, title, summary in steps.values():
        tone = STEP_TONES.get(state, "plain")
        lead = f"{MARKS.get(state, ' ')} {title}"
        if summary:
            lines.append(Line(f": {summary}", "dim" if state == "done" else tone, lead, tone))
        else:
            lines.append(Line(lead, tone))
    return lines


# --- errors ------------------------------------------------------------------------------


def failure_lines(headline: str, hint: str = "") -> list[Line]:
    """A failure where a run stopped: the mark and what failed, then what to do."""
    lines = [Line(headline, "strong", "✗ ", "failed")]
    if hint:
        lines.append(Line(hint, "plain", "What to do: ", "strong"))
    return lines


def run_failure_lines(error: WizardError, gone: Mapping[str, str]) -> list[Line]:
    """How a deploy run ended, where it stopped: a cancel says nothing was wrong; a resize
    that deleted the container group says first what the next round will do."""
    if error.code == ErrorCode.CANCELLED:
        headline = "Cancelled: stopped at a safe point."
        hint = "Retry continues from what exists; nothing you typed is lost."
    else:
        headline, hint = error.message, error.hint
    if "container_group" in gone:
        hint = " ".join([*texts(next_round(gone)), hint]).strip()
    return failure_lines(headline, hint)


# --- a deploy's outcome ------------------------------------------------------------------

#: The label above the webhook URL wherever it is given whole (deploy, status, the wizard's
#: Done step and farewell); whether Numerai has it is said on a line of its own (numerai_lines).
WEBHOOK_URL_LABEL = "Webhook URL (Numerai calls it when a round opens):"
AUTHORIZE = "authorize the API connection so the Logic App may start the container."
CHECK_CONNECTION = "Check it with: numerai-aci-wizard status"


def manual_step_lines(
    steps: Sequence[str], *, indent: str = "  ", check: bool = True
) -> list[Line]:
    """The one manual step of api-connection mode (authorize the connection), numbered;
    ``check``: with the command that checks it (the wizard has a button for that)."""
    lines = [Line(f"One manual step: {AUTHORIZE}")]
    lines.extend(Line(f"{indent}{n}. {step}") for n, step in enumerate(steps, start=1))
    if check:
        lines.append(Line(f"{indent}{CHECK_CONNECTION}"))
    return lines


def next_step_lines(result: DeployResult, *, indent: str = "  ", check: bool = True) -> list[Line]:
    """What is left to do by hand once a deploy is through: the manual step of
    api-connection mode (see :func:`manual_step_lines`), else that there is none, and why."""
    if result.manual_steps:
        return manual_step_lines(result.manual_steps, indent=indent, check=check)
    return [no_manual_step(managed_identity=result.connection is None)]


def no_manual_step(*, managed_identity: bool) -> Line:
    """Nothing to do by hand: the managed identity starts the container, or the API
    connection is authorized already."""
    why = (
        "the Logic App starts the container with its managed identity."
        if managed_identity
        else "the API connection 'aci' is authorized."
    )
    return Line(f"No manual step: {why}", "ok", "✓ ", "ok")


def connection_check_line(connection: ConnectionStatus, every: float) -> Line:
    """The answer of one check of the API connection, while the wizard checks it again and
    again until it reads Connected."""
    if connection.connected:
        return Line("Connected: Numerai's calls will start the container.", "ok", "✓ ", "ok")
    return Line(f"Not authorized yet: checking again every {every:g} s...", "warning")


def numerai_lines(result: DeployResult) -> list[Line]:
    """Whether Numerai has the webhook URL (the model whose webhook it is), else where to
    paste it; with several models, that one run a round submits for them all."""
    if result.webhook_registered:
        holder = f"The webhook of {result.webhook_model} is the Logic App's URL."
        lines = [Line(holder, "ok", "✓ ", "ok")]
    else:
        paste = (
            "Numerai does not have the URL yet: paste it at numer.ai > Models > your model "
            "> Compute."
        )
        lines = [Line(paste, "warning", "! ", "warning")]
    if len(result.models) > 1:
        every = f"{len(result.models)} models: {', '.join(result.models)}"
        lines.append(Line(f"One run a round submits for {every}."))
    return lines


def changed_line(
    changes: Sequence[Action],
    *,
    labels: Mapping[str, str] | None = None,
    earlier: Sequence[str] = (),
) -> Line:
    """What a deploy changed in Azure: its plan's changes (each resource by its ``labels``
    name, when given), else what an earlier attempt of the same run changed, else nothing."""
    if changes:
        if labels is None:
            return Line("Changed: " + ", ".join(f"{a.resource} {a.action}" for a in changes))
        return Line(
            "Changed: "
            + ", ".join(
                f"{labels.get(a.resource, a.resource)} {a.name} ({a.action})" for a in changes
            )
        )
    if earlier:  # a Retry: the earlier attempt of this run made the changes
        return Line("Changed by this run: " + "; ".join(earlier))
    return Line("Nothing changed: everything was already as the settings say.")


def azure_left(
    headline: str, steps: Mapping[str, tuple[str, str, str]], gone: Mapping[str, str]
) -> list[Line]:
    """What a run that did not finish left in Azure, step by step, and what comes next.

    ``steps``: each step the run began, as (state, title, summary), state "done" once it
    finished; ``gone``: what it deleted and did not create again (resource -> name).
    """
    lines = [Line(headline), Line("Azure now:")]
    for name, (state, title, summary) in steps.items():
        if name not in AZURE_RESOURCES:
            continue
        if name in gone:
            lines.append(Line(f"  deleted       {title}: not created again"))
        elif state == "done":
            lines.append(Line(f"  done          {title}" + (f": {summary}" if summary else "")))
        else:
            lines.append(Line(f"  not finished  {title}"))
    if len(lines) == 2:
        lines[1] = Line("Azure now: nothing was changed.")
    return lines + next_round(gone)


def next_round(gone: Mapping[str, str]) -> list[Line]:
    """What the next round will do, as far as what the run deleted tells."""
    group = gone.get("container_group")
    if group:
        return [
            Line(
                f"The container group {group} was deleted for the resize and not re-created: "
                "the next round will fail until you run the wizard (or `numerai-aci-wizard "
                "deploy`) again."
            )
        ]
    return [
        Line(
            "Run `numerai-aci-wizard` (or `numerai-aci-wizard deploy`) again: it continues from "
            "what exists and repairs the rest."
        )
    ]


# --- status ------------------------------------------------------------------------------


def utc_time(when: dt.datetime | None, form: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """A time in UTC as people read it here ("2026-11-26 13:04:51 UTC"); "" for none."""
    return "" if when is None else when.astimezone(dt.UTC).strftime(form)


def status_lines(
    group: GroupStatus,
    models: Sequence[ModelStatus],
    connection: ConnectionStatus | None,
    *,
    container_group: str,
    resource_group: str,
    location: str,
) -> list[Line]:
    """What ``status`` says: the container group and its last run, each model's webhook and
    last submission, and whether the API connection is authorized (its steps if not)."""
    if not group.exists:
        return [
            Line(
                f"Container group {container_group} does not exist in {resource_group}: run deploy.",
                "warning",
            )
        ]
    lines = [Line(f"Container group {container_group} ({resource_group}, {location})", "strong")]

    def row(label: str, value: object, tone: Tone = "plain") -> Line:
        return Line(str(value), tone, f"  {label:<18} ", "dim")

    lines += [
        row("state", group.state),
        row("image", group.image),
        row("size", f"{group.cpu:g} vCPU, {group.memory_gb:g} GB"),
        row("last run started", utc_time(group.started) or "never"),
        row("last run finished", utc_time(group.finished) or "-"),
        row("exit code", "-" if group.exit_code is None else group.exit_code),
    ]
    for m in models:
        said = ["holds the webhook"] if m.holds_webhook else []
        if m.latest is not None:
            when = utc_time(m.latest.inserted_at) or "?"
            said.append(f"last submission round {m.latest.round or '?'} ({when})")
        elif m.checked:
            said.append("no submission yet")
        elif m.problem:
            said.append(f"submissions not read: {m.problem}")
        label = m.name if m.name == m.model_id else f"{m.name} ({m.model_id})"
        lines.append(row("model", label + (f": {'; '.join(said)}" if said else "")))
    if connection is not None:
        if connection.connected:
            lines.append(row("API connection", "authorized (Connected)", "ok"))
        else:
            lines.append(
                row("API connection", f"NOT authorized yet ({connection.status})", "warning")
            )
            lines += [
                Line(f"    {number}. {step}") for number, step in enumerate(connection.steps, 1)
            ]
    return lines


# --- history -----------------------------------------------------------------------------


def history_lines(history: History, limit: int | None = None) -> list[Line]:
    """One line per webhook call (✓ / ✗ / …), then the hint of a failed or flagged one."""
    out: list[Line] = []
    rows = history.runs if limit is None else history.runs[:limit]
    if not rows:
        out.append(Line("No webhook calls yet: Numerai calls the Logic App when a round opens."))
    for row in rows:
        failed = row.status == "failed" or row.no_submission
        mark = "✗" if failed else "✓"
        tone: Tone = "failed" if failed else "ok"
        if row.status == "running":
            mark, tone = "…", "plain"
        day = utc_time(row.started, "%Y-%m-%d") or "????-??-??"
        out.append(Line(f"{mark} {day} {row.detail}", tone))
        if row.hint:
            out.append(Line(f"    what to do: {row.hint}", "warning"))
    if history.note:
        out.append(Line(history.note))
    return out


def history_unread(error: WizardError) -> list[Line]:
    """Where the webhook calls would be, when the Logic App's run history could not be read."""
    return [Line(f"The run history could not be read: {error.message}")]
