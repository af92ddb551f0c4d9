"""Running one headless command: settings in, printed result and exit code out.

Every failure ends here as a WizardError and becomes "what failed, why, what to do"
on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .events import WizardError
from .store import Resolved, resolve

Handler = Callable[["Context"], int]


class Output:
    """Human lines on stdout (plain when not a terminal), or nothing but JSON with --json."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.is_tty = sys.stdout.isatty()

    def line(self, text: str = "") -> None:
        if not self.json_mode:
            print(text, flush=True)

    def json(self, data: Any) -> None:
        print(json.dumps(data, indent=2 if self.is_tty else None), flush=True)

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr, flush=True)

    def error(self, message: str, hint: str = "") -> None:
        print(f"error: {message}", file=sys.stderr)
        if hint:
            print(f"  what to do: {hint}", file=sys.stderr)
        sys.stderr.flush()


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


def _not_available(ctx: Context) -> int:
    raise WizardError(
        f"'{ctx.command}' is not available in this version yet",
        "its engine is still being built; see the README for what works today",
        exit_code=2,
    )


HANDLERS: dict[str, Handler] = {}


def run_command(command: str, args: argparse.Namespace, cli_values: dict[str, Any]) -> int:
    out = Output(json_mode=bool(getattr(args, "json", False)))
    resolved = resolve(getattr(args, "config", None), cli_values)
    if resolved.loaded.error:
        out.warn(resolved.loaded.error)
    for warning in resolved.loaded.warnings:
        out.warn(warning)
    if resolved.errors:
        for error in resolved.errors:
            out.error(error)
        return 2
    ctx = Context(command, args, resolved, out)
    try:
        return HANDLERS.get(command, _not_available)(ctx)
    except WizardError as exc:
        out.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("interrupted", "run the same command again: it continues from what exists")
        return 130


def open_wizard(config: Path | None) -> int:
    out = Output(json_mode=False)
    out.error(
        "the interactive wizard is not in this version yet",
        "use the subcommands: numerai-aci-wizard --help",
    )
    return 2
