"""The wizard's App: the answers so far, navigation between steps, and one session.

Screens are thin: each one shows part of :attr:`WizardApp.settings` / :attr:`secrets`,
writes the answers back, and asks the app to move on. The app owns what must survive
Back and Next: every typed text (even an invalid one) and the one
:class:`~numerai_aci_wizard.session.Session` (settings, secrets, the Azure sign-in,
what discovery found) that makes the same pipeline the headless CLI drives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from .. import redact, store
from .. import secrets as secret_sources
from ..events import WizardError, describe
from ..session import Session
from ..settings import (
    SECRET_FIELDS,
    Secrets,
    Settings,
    check_run_minutes,
    coerce,
    parse_decimal,
)

if TYPE_CHECKING:  # the rest of the core loads when the work first runs, after the first frame
    from ..engines import Engines
    from ..events import Emit
    from ..pipeline import DeployResult, Pipeline
    from .host import WizardHost
    from .screens.base import StepScreen

from .steps import FIELD_STEP, SECRET_NAMES, step_after, step_before


def shown(value: Any) -> str:
    """How a saved value reads in an Input (2.0 -> "2")."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _remembered_run_minutes(config_path: Path) -> float:
    text = store.RunState.load(store.state_path(config_path)).run_minutes
    return parse_decimal(text) if text and check_run_minutes(text) is None else 15.0


class WizardApp(App[int]):
    """Numerai prediction pipeline on Azure Container Instances, step by step."""

    CSS_PATH = "wizard.tcss"
    TITLE = "Numerai ACI wizard"
    SUB_TITLE = "Numerai -> Logic App -> Azure Container Instance"
    ENABLE_COMMAND_PALETTE = True
    #: a terminal of fewer than 30 rows (80x24) gets the compact layout (class -short)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        config_path: Path | None = None,
        *,
        engines: Engines | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        polling_interval: float = 1.0,
        blink: bool = True,
    ) -> None:
        super().__init__()
        self.blink = blink
        resolved = store.resolve(config_path, env=env)
        self.settings_existed = resolved.loaded.exists
        #: the file is there but could not be read at all: nothing was pre-filled from it
        self.settings_unreadable = resolved.loaded.error is not None
        #: keys no setting reads: the Welcome offers to rename (as suggested) or drop them
        self.unknown_keys = list(resolved.loaded.unknown)
        self.unknown_notes = list(resolved.loaded.unknown_notes)
        self.notes: list[str] = []
        if resolved.loaded.error:
            self.notes.append(resolved.loaded.error)
        self.notes.extend(resolved.loaded.warnings)
        self.notes.extend(resolved.errors)
        #: every text typed so far, by settings key or secret name; survives Back/Next even when invalid
        self.drafts: dict[str, str] = {
            key: str(raw) for key, raw in resolved.loaded.raw_invalid.items()
        }
        secrets = Secrets()
        self.secret_sources: dict[str, str] = {}
        try:
            found = secret_sources.resolve(resolved.settings, [], optional=SECRET_NAMES, env=env)
            secrets = found.secrets
            self.secret_sources = found.sources
            self.notes.extend(found.notes)
        except WizardError as exc:
            self.notes.append(str(exc))
        self.session = Session(
            resolved.settings,
            config_path=resolved.loaded.path,
            secrets=secrets,
            engines=engines,
            on_device_code=self._device_code,
            on_sign_in_ended=self._sign_in_ended,
            allow_device_code=True,
            polling_interval=polling_interval,
        )
        self.log_path = log_path
        a = resolved.settings.azure
        #: where the saved settings put the pipeline (subscription, resource group): a re-run
        #: that moves it says the old resources stay behind
        self.saved_place = (
            (a.subscription_id, a.resource_group)
            if self.settings_existed and a.subscription_id and a.resource_group
            else None
        )
        #: how long a run takes, for the estimate: remembered in the run state (not a setting)
        self.run_minutes: float = _remembered_run_minutes(self.config_path)
        #: a container group a resize deleted and no deploy created again (from the run state)
        self.group_missing = store.RunState.load(store.state_path(self.config_path)).group_missing
        self.result: DeployResult | None = None
        #: what the deploy runs of this session changed in Azure (a Retry's earlier attempts too)
        self.changes_made: list[str] = []
        #: what :func:`run` prints to the terminal once the screen is gone
        self.farewell: list[str] = []
        #: Numerai keys (public id, secret key) Numerai refused, with its reason: Next stops on them
        self.refused_keys: dict[tuple[str, str], str] = {}
        #: what the last deploy that did not finish left in Azure (the farewell after a quit)
        self.interrupted: list[str] = []

    @property
    def settings(self) -> Settings:
        return self.session.settings

    @property
    def secrets(self) -> Secrets:
        return self.session.secrets

    @property
    def config_path(self) -> Path:
        return self.session.config_path

    # --- answers -------------------------------------------------------------------

    def text_for(self, key: str) -> str:
        """What a field shows: the draft typed earlier, else the saved value or secret."""
        if key in self.drafts:
            return self.drafts[key]
        if key in SECRET_NAMES:
            return str(getattr(self.secrets, key))
        if key == "run_minutes":
            return shown(self.run_minutes)
        return shown(self.settings.get(key))

    def answer(self, key: str, text: str) -> str | None:
        """Keep what was typed; when the rule accepts it, put it into the settings or secrets."""
        self.drafts[key] = text
        text = text.strip()
        if key in SECRET_NAMES:
            spec = next(f for f in SECRET_FIELDS if f.name == key)
            reason = spec.check(text) if text else None
            if reason is None:
                setattr(self.secrets, key, text)
                redact.register(text)
            return reason
        if key == "run_minutes":
            reason = check_run_minutes(text)
            if reason is None:
                self._remember_run_minutes(parse_decimal(text))
            return reason
        value, reason = coerce(key, text)
        if reason is None:
            self.settings.set(key, value)
        return reason

    def _remember_run_minutes(self, minutes: float) -> None:
        self.run_minutes = minutes
        path = store.state_path(self.config_path)
        state = store.RunState.load(path)
        if state.run_minutes != f"{minutes:g}":
            state.run_minutes = f"{minutes:g}"
            with contextlib.suppress(OSError):  # only the estimate's default is lost
                state.save(path)

    def choose(self, key: str, value: Any) -> None:
        """A value picked from a Select, RadioSet or Switch (always valid)."""
        self.drafts.pop(key, None)
        self.settings.set(key, value)

    # --- navigation ----------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """The Welcome step is the app's first screen: nothing else is drawn before it."""
        return self.make_screen("welcome")

    def warm_up(self) -> None:
        """Once the first frame is out: what a later step would otherwise wait for.

        The keyring library scans every installed package for its backends (~80 ms here):
        done now, off the screen's thread, the Numerai step's switch finds it ready.
        """
        self.run_worker(
            secret_sources.keyring_status, thread=True, group="warm-up", exit_on_error=False
        )

    def make_screen(
        self, step: str, focus: str | None = None, reason: str | None = None
    ) -> StepScreen:
        from .screens import screen_class

        return screen_class(step)(focus=focus, reason=reason)

    def goto(self, step: str, focus: str | None = None, reason: str | None = None) -> None:
        """Show ``step``; with ``focus`` the cursor lands on that field, showing ``reason``.

        The first Welcome is the base of Textual's screen stack, which cannot be switched
        away: it stays under the steps (hidden), and each step after it replaces the last.
        """
        screen = self.make_screen(step, focus, reason)
        if len(self.screen_stack) == 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def goto_field(self, key: str, reason: str | None) -> None:
        self.goto(FIELD_STEP.get(key, "review"), key, reason)

    def step_after(self, step: str) -> str:
        return step_after(step)

    def step_before(self, step: str) -> str:
        return step_before(step)

    # --- the session's sign-in, shown in a dialog ------------------------------------

    def _device_code(self, uri: str, code: str, expires: dt.datetime | None) -> None:
        from .screens.dialogs import DeviceCodeScreen

        cancel = self.session.sign_in_cancel
        only_work = not self.session.settings.azure.tenant_id.strip()
        self.call_from_thread(
            self.push_screen,
            DeviceCodeScreen(
                uri, code, cancel.set if cancel else None, work_or_school_only=only_work
            ),
        )

    def _sign_in_ended(self) -> None:
        if threading.current_thread() is not threading.main_thread() and self.is_running:
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile: nothing to close
                self.call_from_thread(self._close_device_code)

    def _close_device_code(self) -> None:
        from .screens.dialogs import DeviceCodeScreen

        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, DeviceCodeScreen):
            top.dismiss(None)

    def pipeline(self, emit: Emit, cancel: threading.Event | None = None) -> Pipeline:
        """The same Pipeline the CLI runs, on a copy of the answers (the screens may change them)."""
        return self.session.pipeline(
            emit=emit,
            cancel=cancel,
            settings=self.settings.copy(),
            secrets=Secrets(**{n: getattr(self.secrets, n) for n in SECRET_NAMES}),
        )

    # --- commands ------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Save settings",
            f"Write the answers so far to {self.config_path} (never a secret)",
            self.action_save_settings,
        )
        yield SystemCommand(
            "Open log file", "Show the end of the wizard's log (redacted)", self.action_open_log
        )

    def action_save_settings(self) -> bool:
        """Write the answers (never a secret); says where, or why not. True when saved."""
        keep = getattr(self.screen, "keep_answers", None)
        if keep is not None:
            keep()
        try:
            path = store.save(self.settings, self.config_path)
        except (OSError, ValueError) as exc:  # translated: never Python's exception text
            error = describe(exc) if isinstance(exc, OSError) else WizardError(str(exc))
            said = f"Settings not saved: {error.message}" + (f" {error.hint}" if error.hint else "")
            self.notify(redact.shown(said), severity="error", markup=False)
            return False
        self.notify(f"Settings saved to {path}")
        return True

    # --- quitting ------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Ctrl+Q / Ctrl+C: never leave Azure half-changed in silence, never lose typed answers."""
        from .screens.deploy import DeployScreen
        from .screens.dialogs import ChoiceScreen, quit_during_deploy, save_before_quit

        if isinstance(self.screen, ChoiceScreen):
            return  # already asking
        screen = self.screen
        if isinstance(screen, DeployScreen) and screen.running:
            deploy = screen

            def answered(choice: str | None) -> None:
                if choice == "stop-and-quit":
                    deploy.stop_and_quit()

            self.push_screen(quit_during_deploy(), answered)
            return
        if self.offers_to_save():

            def chosen(choice: str | None) -> None:
                if choice == "save-and-quit":
                    if self.action_save_settings():  # else stay: the notice says why
                        self.leave(0)
                elif choice == "quit":
                    self.leave(0)

            self.push_screen(save_before_quit(self.config_path), chosen)
            return
        self.leave(0)

    def offers_to_save(self) -> bool:
        """A first run (no settings file yet) with answers typed that a quit would lose."""
        if self.settings_existed or self.result is not None:
            return False
        keep = getattr(self.screen, "keep_answers", None)
        if keep is not None:
            keep()
        return bool(self.settings.provenance.answered) and not self.config_path.exists()

    def leave(self, code: int) -> None:
        """Exit; after a successful deploy the URL and the next step outlive the screen."""
        if not self.farewell:
            if self.result is not None:
                self.farewell = farewell_lines(self.result)
            elif self.interrupted:
                self.farewell = list(self.interrupted)
        self.exit(code)

    def action_open_log(self) -> None:
        from .screens.dialogs import LogFileScreen

        self.push_screen(LogFileScreen(self.log_path))


def farewell_lines(result: DeployResult) -> list[str]:
    """What the terminal keeps after the wizard closes: the URL whole, then the next step."""
    from ..present import WEBHOOK_URL_LABEL, next_step_lines, texts

    return [
        WEBHOOK_URL_LABEL,
        result.webhook_url,  # whole, on its own line, never wrapped or masked
        *texts(next_step_lines(result)),
        f"Later: {where_else_url()}",
    ]


def where_else_url() -> str:
    """Where the URL can be had again once the screen and the terminal line are gone."""
    return (
        "`numerai-aci-wizard status` prints the URL, as does the Azure portal > Logic App > "
        "Overview > Workflow URL"
    )


#: gen-2 threshold that no count reaches: the collector never starts a full collection itself
NO_FULL_COLLECTIONS = 1 << 30


def collect_young_only() -> None:
    """Keep the garbage collector from freezing the screen; called once the app is built.

    A full collection walks every tracked object: with the Azure SDK, numerapi and docker
    loaded that takes 100-130 ms here, and it runs on whichever thread allocates, holding
    the GIL, so the screen stops. What is loaded by now (Textual, the core) lives as long
    as the app and is frozen out of the collector's way; young objects are still collected
    (cycles mostly die young, and those collections stay small), but the collector never
    starts a full collection on its own. A cycle that outlives two young collections
    waits for the process to end: a wizard session is minutes long (the cost is measured
    by ``benchmarks/stall.py``). Also re-enables the collector that ``cli.main`` turned off
    for the imports.
    """
    gc.freeze()
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, NO_FULL_COLLECTIONS)
    gc.enable()


def run(config_path: Path | None, *, engines: Engines | None = None) -> int:
    """Open the wizard (``numerai-aci-wizard`` without a subcommand); returns the exit code.

    What must outlive the screen (the webhook URL, the state a quit left Azure in) is
    printed to the terminal after the app has given it back.
    """
    from ..logs import setup_logging

    log_path = setup_logging()  # library logging goes to a redacted file, never the terminal
    app = WizardApp(config_path, engines=engines, log_path=log_path)
    collect_young_only()
    result = app.run()
    for line in app.farewell:
        print(line, flush=True)
    return result if isinstance(result, int) else 0


if TYPE_CHECKING:

    def _hosts_the_steps(app: WizardApp) -> WizardHost:
        """mypy proves here that the app is what its screens take it for (tui/host.py)."""
        return app
