"""The command line: no subcommand opens the wizard; subcommands run the same pipeline headless.

Kept light at import (argparse and the pure settings only) so ``--help`` is instant;
each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .console import make_streams_safe
from .settings import FIELDS, Check, check_positive_int, check_run_minutes
from .tls import use_os_trust_store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

COMMANDS: dict[str, str] = {
    "plan": "show what deploy would create, change or keep (changes nothing)",
    "deploy": "build and push the image, provision Azure, register the webhook",
    "status": "show the container group's state and its last run",
    "logs": "print the container's logs (--follow while it runs)",
    "trigger": "ask Numerai to call the webhook now, follow the run, report the submission",
    "history": "list the webhook calls (one per round), whether each started, and the submissions",
    "destroy": "remove what deploy created and clear the model's webhook",
}

_DESCRIPTIONS: dict[str, str] = {
    "plan": "Compare the settings with what exists on Azure and list, per resource, whether deploy "
    "would create, update, recreate, keep or delete it, and why. Needs only the Azure sign-in. "
    "With --json prints exactly one JSON object.",
    "deploy": "Run the whole setup: build and push the prediction image (skipped when unchanged), "
    "create or update the resource group, container group, Logic App and its trigger, register "
    "the webhook with Numerai, and print the webhook URL on its own line. Re-running with "
    "nothing changed makes no change. Needs the Numerai keys and, to push, the registry password.",
    "status": "Show the container group's state, size and image, and when its last run started, "
    "finished and with which exit code.",
    "logs": "Print the container's logs. Azure keeps only the last ~1,000 lines of a finished run.",
    "trigger": "Ask Numerai to call the model's webhook (as when a round opens), follow the "
    "container's logs and report whether a submission landed. Needs the Numerai keys. With "
    "--local: a rehearsal on this machine instead (the image deploy would ship, run by the local "
    "Docker engine with the container group's environment); exit 0 only if every model's "
    "submission landed.",
    "history": "One row per webhook call (the Logic App's run history), newest first: when "
    "Numerai called, whether the container started and, if not, why and what to do; for the "
    "newest run the container's state and exit code; and per model the submissions Numerai "
    "holds for recent rounds. A run that started but produced no submission is flagged. "
    "Needs the Azure sign-in; the Numerai keys (optional) add the submissions.",
    "destroy": "Delete the container group, Logic App, API connection and role assignment (and the "
    "resource group if this tool created it and it is empty), and clear the model's webhook at "
    "Numerai (skipped with a warning without the Numerai keys).",
}

_EPILOG = """\
Secrets are never saved in the settings file. They come from the environment
(NUMERAI_PUBLIC_ID, NUMERAI_SECRET_KEY, DOCKER_USERNAME, DOCKER_PASSWORD), the OS
keyring if you opted in, or a prompt.

Exit codes: 0 success, 1 the operation failed, 2 bad usage, bad settings, missing
secrets, a capability that is not available, another run holding the lock, or a
resource this tool did not create; 130 Ctrl+C, 143 SIGTERM."""


class _Parser(argparse.ArgumentParser):
    """argparse, except that with ``--json`` on the command line a refusal (an unknown
    option, a value its rule refuses) is also one error object on stdout, as every other
    failure is: ``{"error": {"code": "bad_usage", "message": ..., "hint": ...}}``. The
    usage text still goes to stderr and the exit code stays 2."""

    def __init__(self, *args: Any, json_errors: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message: str) -> Any:  # argparse calls it and expects no return
        if self.json_errors:
            from . import redact  # light: re and base64

            body = {
                "code": "bad_usage",  # events.ErrorCode.BAD_USAGE (not imported: --help stays light)
                "message": redact.shown(f"{self.prog}: {message}"),
                "hint": f"see {self.prog} --help",
            }
            print(json.dumps({"error": body}), flush=True)
        super().error(message)


def _bounded(check: Check, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=``: the shared rule's reason becomes argparse's message (exit 2)."""

    def parse(text: str) -> Any:
        if reason := check(text):
            raise argparse.ArgumentTypeError(reason)
        return convert(text.strip().replace(",", "."))

    parse.__name__ = check.__name__.removeprefix("check_")
    return parse


_run_minutes = _bounded(check_run_minutes, float)
_line_count = _bounded(lambda text: check_positive_int(text, "number of lines"), int)
_count = _bounded(lambda text: check_positive_int(text, "number of runs"), int)
_seconds = _bounded(lambda text: check_positive_int(text, "number of seconds"), int)


def _common() -> argparse.ArgumentParser:
    """Options every subcommand accepts after its name."""
    parent = argparse.ArgumentParser(add_help=False)
    general = parent.add_argument_group("general")
    general.add_argument(
        "--config", metavar="FILE", type=Path, help="settings file (default: the user config dir)"
    )
    general.add_argument(
        "--json", action="store_true", help="machine output on stdout, nothing else there"
    )
    values = parent.add_argument_group("settings (override the settings file and the environment)")
    for spec in FIELDS:
        kwargs: dict[str, Any] = {
            "dest": spec.key.replace(".", "__"),
            "default": None,
            "help": spec.help,
        }
        if spec.kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif spec.kind is list:
            kwargs["action"] = "append"
            kwargs["metavar"] = "UUID"
        else:
            kwargs["metavar"] = (
                "|".join(spec.choices) if spec.choices else spec.key.split(".")[1].upper()
            )
        values.add_argument(spec.flag, **kwargs)
    return parent


def _wizard_parser(json_errors: bool = False) -> argparse.ArgumentParser:
    """What the command line is without its subcommands: the wizard's own options."""
    parser = _Parser(
        json_errors=json_errors,
        prog="numerai-aci-wizard",
        description="Set up a Numerai prediction pipeline on Azure Container Instances. "
        "Without a subcommand it opens the interactive wizard, pre-filled from your saved settings.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", type=Path, help="settings file for the wizard")
    parser.set_defaults(command=None)
    return parser


def _opens_the_wizard(argv: Sequence[str]) -> bool:
    """No subcommand and nothing but ``--config FILE``: the wizard's launch, parsed without
    building every command's options first (they are most of argparse's time before the
    first frame). Anything else goes to the whole parser, and both read these the same."""
    return (
        not argv
        or (len(argv) == 2 and argv[0] == "--config")
        or (len(argv) == 1 and argv[0].startswith("--config="))
    )


def build_parser(json_errors: bool = False) -> argparse.ArgumentParser:
    """``json_errors``: ``--json`` is on the command line, so a refusal is a JSON object too."""
    parser = _wizard_parser(json_errors)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common()
    for name, summary in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=summary,
            description=_DESCRIPTIONS[name],
            parents=[common],
            json_errors=json_errors,
        )
        if name in ("deploy", "destroy"):
            p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        if name == "deploy":
            p.add_argument(
                "--adopt",
                action="store_true",
                help="take over same-named resources this tool did not create (they get "
                "overwritten and tagged managed-by: numerai-aci-wizard)",
            )
        if name in ("plan", "deploy"):
            p.add_argument(
                "--run-minutes",
                type=_run_minutes,
                default=15.0,
                metavar="MIN",
                help="how long one run takes, for the cost estimate",
            )
            p.add_argument(
                "--no-price-lookup",
                action="store_true",
                help="use the built-in price table, no lookup",
            )
        if name == "logs":
            p.add_argument(
                "--follow", "-f", action="store_true", help="keep printing while the container runs"
            )
            p.add_argument("--tail", type=_line_count, metavar="N", help="only the last N lines")
        if name == "history":
            p.add_argument(
                "--limit",
                type=_count,
                default=10,
                metavar="N",
                help="how many webhook calls to list (default 10)",
            )
        if name == "trigger":
            p.add_argument(
                "--local",
                action="store_true",
                help="rehearse on this machine: run the image deploy would ship with the local "
                "Docker engine and the container group's environment, then check the submissions",
            )
            p.add_argument(
                "--no-follow", action="store_true", help="return once Numerai accepted the trigger"
            )
            p.add_argument(
                "--timeout",
                type=_seconds,
                default=1800,
                metavar="SECONDS",
                help="how long to follow",
            )
    return parser


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as options on the command line (None = not given)."""
    return {spec.key: getattr(args, spec.key.replace(".", "__"), None) for spec in FIELDS}


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    make_streams_safe()  # a cp1252 pipe on Windows must not turn a mark into a failure
    parser = _wizard_parser() if _opens_the_wizard(argv) else build_parser("--json" in argv)
    args = parser.parse_args(argv)  # --help, --version and bad usage end here, before TLS
    use_os_trust_store()  # a corporate proxy's CA, trusted by the OS, is trusted here too
    if args.command is None:
        # what the wizard imports lives as long as it does: collecting meanwhile only costs
        # time before the first frame (run() turns the collector back on)
        gc.disable()
        from .tui.app import run  # imported only now: the headless commands stay light

        return run(args.config)
    from .commands import run_command

    return run_command(args.command, args, overrides(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
