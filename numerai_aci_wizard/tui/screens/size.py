"""Step 4: memory and CPU, judged against the region's real maximum, with a live cost estimate."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widgets import Input, Static

from ...events import WizardError
from ...settings import (
    CPU_MAX,
    MEMORY_MAX_GB,
    check_cpu,
    check_memory,
    check_run_minutes,
    parse_decimal,
)
from ..messages import CostEstimated, LimitsFailed, LimitsRead, failure_text, report
from ..widgets.field import TextField
from .base import StepScreen


class SizeScreen(StepScreen):
    STEP = "size"
    HEADING = "Container size and cost"

    #: what the estimate is for (location, vCPU, GB, minutes); None while a value is invalid
    asked: reactive[tuple[str, float, float, float] | None] = reactive(
        None, init=False, always_update=True
    )
    #: the estimate of ``asked``: the figure, then the breakdown; None: no estimate to show
    estimate: reactive[list[str] | None] = reactive(None, init=False, always_update=True)

    def body(self) -> ComposeResult:
        yield Static(
            "A prediction run needs the memory of your model plus the live data (2-4 GB for the "
            "example model). Azure bills per second while the container runs.",
            classes="para",
        )
        yield Static(self._limits_text(), id="limits", classes="para")
        # the figure above the fields: at 80x24 it stays on screen while you type; the
        # breakdown (rates, source, the Logic App's share) below them
        yield Static("Estimating the cost...", id="cost", classes="para")
        yield self.field(
            "azure.memory_gb",
            "Memory (GB)",
            check=self._check_memory,
            help="e.g. 2 or 2.5, in steps of 0.1",
        )
        yield self.field("azure.cpu", "CPU (vCPU)", check=self._check_cpu, help="e.g. 1")
        yield self.field(
            "run_minutes", "Minutes a run takes (for the estimate only)", check=check_run_minutes
        )
        yield Static("", id="cost-detail", classes="muted")

    def _known_limits(self) -> tuple[float, float] | None:
        found = self.wizard.session.found
        if found.limits and found.limits_for == self.wizard.settings.azure.location:
            return found.limits
        return None

    def _limits(self) -> tuple[float, float]:
        return self._known_limits() or (MEMORY_MAX_GB, CPU_MAX)

    def _check_memory(self, value: str) -> str | None:
        return check_memory(value, self._limits()[0])

    def _check_cpu(self, value: str) -> str | None:
        return check_cpu(value, self._limits()[1])

    def _limits_text(self) -> str:
        w = self.wizard
        location = w.settings.azure.location or "the region"
        limits = self._known_limits()
        if limits:
            return f"In {location} a container group may have up to {limits[0]:g} GB and {limits[1]:g} vCPU."
        if w.session.signed_in is None:
            return f"Limits assumed: up to {MEMORY_MAX_GB:g} GB and {CPU_MAX:g} vCPU (sign in to read {location}'s)."
        return f"Reading the limits of {location}..."

    def on_mount(self) -> None:
        w = self.wizard
        location = w.settings.azure.location
        if w.session.signed_in is not None and location and self._known_limits() is None:
            # a worker takes turns with the screen's thread: drawing the step comes first
            self.call_after_refresh(self._read_limits, location)
        self._estimate_now()

    @work(thread=True, exclusive=True, group="limits", exit_on_error=False)
    def _read_limits(self, location: str) -> None:
        session = self.wizard.session
        report(self, LimitsFailed, lambda: LimitsRead(location, session.region_limits(location)))

    @on(LimitsRead)
    def _got_limits(self, message: LimitsRead) -> None:
        self.query_one("#limits", Static).update(self._limits_text())
        for f in self.query(TextField):
            if f.key in ("azure.memory_gb", "azure.cpu") and f.value:
                f.check_now()

    @on(LimitsFailed)
    def _limits_failed(self, message: LimitsFailed) -> None:
        self.query_one("#limits", Static).update(
            failure_text(message.error, "Could not read the region's limits")
        )

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._estimate_now()

    def _estimate_now(self) -> None:
        texts = {}
        for key in ("azure.memory_gb", "azure.cpu", "run_minutes"):
            texts[key] = self.query_one(f"#f-{key.replace('.', '-')}-input", Input).value
        if (
            self._check_memory(texts["azure.memory_gb"])
            or self._check_cpu(texts["azure.cpu"])
            or check_run_minutes(texts["run_minutes"])
        ):
            self.asked = None  # an estimate still on its way is stale now
            return
        self.asked = (
            self.wizard.settings.azure.location or "eastus",
            parse_decimal(texts["azure.cpu"]),
            parse_decimal(texts["azure.memory_gb"]),
            parse_decimal(texts["run_minutes"]),
        )

    def watch_asked(self, asked: tuple[str, float, float, float] | None) -> None:
        if asked is None:
            self.estimate = None
        else:
            self._estimate(asked)

    @work(thread=True, exclusive=True, group="cost", exit_on_error=False)
    def _estimate(self, asked: tuple[str, float, float, float]) -> None:
        session = self.wizard.session
        location, cpu, memory, minutes = asked
        try:
            lines = session.estimate(location, cpu, memory, run_minutes=minutes).lines()
        except WizardError as exc:
            lines = [str(exc)]
        self.post_message(CostEstimated(lines, asked))

    @on(CostEstimated)
    def _show_cost(self, message: CostEstimated) -> None:
        if message.asked == self.asked:
            self.estimate = message.lines

    def watch_estimate(self, lines: list[str] | None) -> None:
        if lines is None:
            self.query_one("#cost", Static).update("Cost: fix the values below to see an estimate.")
            self.query_one("#cost-detail", Static).update("")
            return
        first, *rest = lines or [""]
        self.query_one("#cost", Static).update(f"Cost: {first}")
        self.query_one("#cost-detail", Static).update("\n".join(rest))
