"""With ``--json``, a failure is exactly one object on stdout, with a stable code and the
exit code of the contract (2 for bad settings or usage, 1 for a failed operation).

One test per error path of each command, in-process against the local ARM server and
the fake ``az`` (no Docker engine needed: these fail before any image work).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.events import ErrorCode
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
MODEL_ID = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str], str]:
    """Run the command; the one JSON object on stdout must be an error envelope."""
    code = main(list(args))
    out = capsys.readouterr()
    document = json.loads(out.out)  # exactly one document: json.loads refuses a second
    assert set(document) == {"error"}, document
    error = document["error"]
    assert set(error) == {"code", "message", "hint"} and error["message"], error
    assert error["code"] in {c.value for c in ErrorCode}
    return code, error, out.err


@pytest.fixture
def config(tmp_path: Path, arm_server) -> Path:
    """Complete settings pointing at the local ARM server; the image is used as it is."""
    settings = Settings()
    settings.numerai.model_id = MODEL_ID
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "example/predict:latest"
    settings.docker.build = False
    path = tmp_path / "config.toml"
    save(settings, path)
    return path


def test_plan_with_an_incomplete_settings_file_is_a_bad_settings_error(
    tmp_path: Path, capsys
) -> None:
    incomplete = tmp_path / "config.toml"
    incomplete.write_text('[azure]\nlocation = "eastus"\n', encoding="utf-8")
    code, error, _ = _error(capsys, "plan", "--json", "--config", str(incomplete))
    assert code == 2 and error["code"] == "bad_settings"
    assert "subscription" in error["message"].lower()


@pytest.mark.parametrize("command", ["plan", "deploy", "status", "logs", "trigger", "destroy"])
def test_an_invalid_value_in_the_file_stops_every_command(
    command: str, tmp_path: Path, arm_server, capsys
) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text(
        f'[azure]\nsubscription_id = "{SUBSCRIPTION}"\nresource_group = "proj_rg!"\n',
        encoding="utf-8",
    )
    before = bad.read_bytes()
    yes = ["--yes"] if command in ("deploy", "destroy") else []
    code, error, _ = _error(capsys, command, "--json", *yes, "--config", str(bad))
    assert code == 2 and error["code"] == "bad_settings"
    assert "resource_group" in error["message"] or "Resource group" in error["message"]
    assert bad.read_bytes() == before
    assert arm_server.requests == []  # nothing was sent to Azure


@pytest.mark.parametrize("command", ["deploy", "destroy"])
def test_without_yes_and_without_a_terminal_asks_for_yes(
    command: str, config: Path, arm_server, az_cli_login, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "A" * 32)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "B" * 64)
    code, error, _ = _error(capsys, command, "--json", "--config", str(config))
    assert code == 2 and error["code"] == "needs_confirmation"
    assert "--yes" in error["hint"]
    assert arm_server.writes() == []


@pytest.mark.parametrize("command", ["deploy", "trigger"])
def test_missing_numerai_keys_name_the_variable(
    command: str, config: Path, arm_server, capsys
) -> None:
    args = [command, "--json", "--config", str(config)] + (["--yes"] if command == "deploy" else [])
    code, error, _ = _error(capsys, *args)
    assert code == 2 and error["code"] == "missing_secret"
    assert "NUMERAI_PUBLIC_ID" in error["message"] + error["hint"]


@pytest.mark.parametrize("command", ["plan", "status", "logs"])
def test_not_signed_in_to_azure(
    command: str, config: Path, arm_server, capsys, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-az-here"))  # no `az`, no saved sign-in
    code, error, _ = _error(capsys, command, "--json", "--config", str(config))
    assert code == 2 and error["code"] == "azure_sign_in"
    assert "az login" in error["hint"]


def test_logs_of_a_group_that_does_not_exist_is_a_failed_operation(
    config: Path, arm_server, az_cli_login, capsys
) -> None:
    code, error, _ = _error(capsys, "logs", "--json", "--config", str(config))
    assert code == 1 and error["code"] == "azure_not_found"
    assert error["hint"] == "run deploy first"


def test_trigger_before_deploy_says_so(
    config: Path, arm_server, az_cli_login, numerai_server, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    code, error, _ = _error(capsys, "trigger", "--json", "--no-follow", "--config", str(config))
    assert code in (1, 2) and error["code"] in ("connection_unauthorized", "azure_not_found")


def test_an_unexpected_failure_is_one_object_too(config: Path, capsys, monkeypatch) -> None:
    from numerai_aci_wizard import commands

    def broken(ctx: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setitem(commands.HANDLERS, "status", broken)
    code, error, err = _error(capsys, "status", "--json", "--config", str(config))
    assert code == 1 and error["code"] == "unexpected"
    assert "RuntimeError" in error["message"] and "Traceback" not in err


# --- issue 19, point 10: argparse's own refusals under --json ------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--json", "--no-such-option"],
        ["logs", "--json", "--tail", "-1"],
        ["trigger", "--timeout", "-5", "--json"],
        ["deploy", "--json", "--yes", "--cpu"],  # a value missing
        ["history", "--json", "--limit"],
        ["plan", "--run-minutes", "1e308", "--json"],
        ["--json"],  # no command at all
        ["frobnicate", "--json"],
    ],
)
def test_a_refused_option_under_json_is_one_bad_usage_object(
    argv: list[str], arm_server, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    out = capsys.readouterr()
    document = json.loads(out.out)  # exactly one document, nothing else on stdout
    assert set(document) == {"error"}
    error = document["error"]
    assert set(error) == {"code", "message", "hint"}
    assert error["code"] == ErrorCode.BAD_USAGE == "bad_usage"
    assert error["message"].startswith("numerai-aci-wizard") and "--help" in error["hint"]
    assert "usage:" in out.err  # people still get argparse's usage on stderr
    assert arm_server.requests == []


def test_without_json_a_refused_option_prints_no_json(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["plan", "--no-such-option"])
    assert caught.value.code == 2
    out = capsys.readouterr()
    assert out.out == "" and "unrecognized arguments: --no-such-option" in out.err
