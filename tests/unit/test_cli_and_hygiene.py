"""The command-line contract and the promise that the core stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numerai_aci_wizard import __version__
from numerai_aci_wizard.cli import COMMANDS, _opens_the_wizard, _wizard_parser, build_parser, main

CORE = [
    "numerai_aci_wizard.settings",
    "numerai_aci_wizard.image_ref",
    "numerai_aci_wizard.events",
    "numerai_aci_wizard.redact",
    "numerai_aci_wizard.store",
    "numerai_aci_wizard.secrets",
    "numerai_aci_wizard.cli",
    "numerai_aci_wizard.commands",
    "numerai_aci_wizard.plan",
    "numerai_aci_wizard.workflow",
    "numerai_aci_wizard.engines",
    "numerai_aci_wizard.pipeline",
    "numerai_aci_wizard.session",
    "numerai_aci_wizard.logs",
    "numerai_aci_wizard.clouds",
]


def _run(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numerai_aci_wizard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **kw.pop("env", {})},
        **kw,
    )


def test_core_imports_no_heavy_library() -> None:
    modules = CORE
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "heavy = [m for m in sys.modules if m.split('.')[0] in ('textual', 'azure', 'docker', 'numerapi', 'pandas')]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_and_module_entry_point() -> None:
    res = _run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"numerai-aci-wizard {__version__}"


def test_help_lists_every_command() -> None:
    res = _run("--help")
    assert res.returncode == 0
    for name in ("plan", "deploy", "status", "logs", "trigger", "destroy"):
        assert name in res.stdout
    assert "NUMERAI_SECRET_KEY" in res.stdout


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_takes_the_common_options(command: str) -> None:
    args = build_parser().parse_args(
        [command, "--config", "x.toml", "--arm-endpoint", "https://h", "--json"]
    )
    assert (args.command, args.config, args.json, args.azure__arm_endpoint) == (
        command,
        Path("x.toml"),
        True,
        "https://h",
    )


@pytest.mark.parametrize(
    "argv", [[], ["--config", "x.toml"], ["--config=x.toml"], ["--config", "deploy"]]
)
def test_the_wizards_launch_reads_the_same_without_the_commands(argv: list[str]) -> None:
    assert _opens_the_wizard(argv)
    assert _wizard_parser().parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "argv", [["--help"], ["deploy"], ["--config", "x.toml", "plan"], ["--bogus"], ["x.toml"]]
)
def test_anything_else_goes_to_the_whole_parser(argv: list[str]) -> None:
    assert not _opens_the_wizard(argv)


def test_deploy_and_destroy_take_yes_and_logs_takes_follow() -> None:
    parser = build_parser()
    assert parser.parse_args(["deploy", "--yes"]).yes and parser.parse_args(["destroy", "-y"]).yes
    assert parser.parse_args(["logs", "--follow"]).follow


def test_bad_option_value_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--memory", "99", "--json"]) == 2
    err = capsys.readouterr()
    assert json.loads(err.out)["error"]["code"] == "bad_settings"  # one object on stdout
    assert "--memory = '99': the memory must be between 0.5 and 16 GB" in err.err
    assert "Traceback" not in err.err


def test_unknown_option_is_bad_usage() -> None:
    res = _run("plan", "--no-such-option")
    assert res.returncode == 2 and "unrecognized arguments" in res.stderr


def test_broken_settings_file_warns_but_the_command_still_runs(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[azure\nlocation = 'eastus'\n")
    res = _run("status", "--config", str(cfg), env={"NO_COLOR": "1"})
    assert "is not valid TOML" in res.stderr and "line 1" in res.stderr
    assert "Traceback" not in res.stderr


def test_plan_json_prints_only_json_or_nothing(tmp_path: Path) -> None:
    res = _run("plan", "--json", "--config", str(tmp_path / "c.toml"))
    if res.stdout.strip():
        json.loads(res.stdout)
    assert "Traceback" not in res.stderr
