"""Nothing acts on what the user did not write (issue 19): a misspelt or misplaced key, or
a ``--config`` that names no file, stops every command that acts before any request
reaches Azure; the ARM stand-in records every request, so "nothing sent" is checked
there. No Docker engine needed: these stop before any image work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
MODEL_ID = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
ACTING = ["deploy", "destroy", "trigger", "plan"]


def _yes(command: str) -> list[str]:
    return ["--yes"] if command in ("deploy", "destroy") else []


@pytest.fixture
def ready(arm_server, az_cli_login, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signed in, keys exported, ARM's address in the environment: all a command needs to go."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", "A" * 32)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", "B" * 64)
    monkeypatch.setenv("AZURE_RESOURCE_MANAGER_ENDPOINT", arm_server.endpoint)
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")


@pytest.fixture
def config(tmp_path: Path, arm_server, numerai_server) -> Path:
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = "their-rg"
    settings.azure.container_group = "my-cg"
    settings.docker.image = "example/predict:latest"
    settings.docker.build = False
    path = tmp_path / "config.toml"
    save(settings, path)
    return path


def _misspell(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- point 1: a misspelt or misplaced key --------------------------------------------


@pytest.mark.parametrize("command", ACTING)
def test_a_misspelt_key_stops_every_command_that_acts_before_any_request(
    command: str, config: Path, ready, arm_server, capsys
) -> None:
    _misspell(config, "container_group =", "container_grup =")
    before = config.read_bytes()
    code, out, err = _run(capsys, command, *_yes(command), "--config", str(config))
    assert code == 2, err
    assert "unknown setting 'azure.container_grup'" in err
    assert "did you mean `container_group`?" in err
    assert "Nothing was sent to Azure" in err and "Traceback" not in err
    assert arm_server.requests == []  # not one request: no read, no write
    assert config.read_bytes() == before


@pytest.mark.parametrize("command", ACTING)
def test_a_misspelt_key_under_json_is_one_bad_settings_object(
    command: str, config: Path, ready, arm_server, capsys
) -> None:
    _misspell(config, "resource_group =", "resource_grup =")
    code, out, err = _run(capsys, command, "--json", *_yes(command), "--config", str(config))
    assert code == 2
    error = json.loads(out)["error"]
    assert error["code"] == "bad_settings"
    assert "azure.resource_grup" in error["message"] and "`resource_group`" in error["message"]
    assert arm_server.requests == []


def test_a_key_above_its_table_is_named_with_the_table_it_belongs_in(
    config: Path, ready, arm_server, capsys
) -> None:
    text = config.read_text().replace('resource_group = "their-rg"\n', "")
    config.write_text('resource_group = "mine-rg"\n' + text)
    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(config))
    assert code == 2
    assert "unknown setting 'resource_group'" in err
    assert "did you mean `resource_group` under `[azure]`?" in err
    assert arm_server.requests == []


@pytest.mark.parametrize(
    ("written", "meant"),
    [("logicapp", "logic_app"), ("container_grup", "container_group")],
)
def test_the_nearest_known_key_is_suggested(
    written: str, meant: str, config: Path, ready, arm_server, capsys
) -> None:
    _misspell(config, "[azure]\n", f'[azure]\n{written} = "x1"\n')
    code, out, err = _run(capsys, "deploy", "--yes", "--config", str(config))
    assert code == 2 and f"did you mean `{meant}`?" in err
    assert arm_server.requests == []


@pytest.mark.parametrize("command", ["plan", "destroy"])
def test_the_same_file_spelt_right_does_reach_azure(
    command: str, config: Path, ready, arm_server, numerai_server, capsys, monkeypatch
) -> None:
    """The control: the refusals above are the key's doing, not a setup that never gets far."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    code, out, err = _run(capsys, command, *_yes(command), "--config", str(config))
    assert code == 0, err
    assert arm_server.requests != []


@pytest.mark.parametrize("command", ["status", "logs", "history"])
def test_commands_that_only_read_warn_about_an_unknown_key_and_go_on(
    command: str, config: Path, ready, arm_server, capsys
) -> None:
    _misspell(config, "container_group =", "container_grup =")
    code, out, err = _run(capsys, command, "--config", str(config))
    assert "warning:" in err and "unknown setting 'azure.container_grup' ignored" in err
    assert "did you mean `container_group`?" in err
    assert arm_server.requests != []  # it read (nothing there to read: exit code aside)


# --- point 2: --config names a file that is not there ---------------------------------


@pytest.mark.parametrize(
    "command", ["plan", "deploy", "destroy", "trigger", "status", "logs", "history"]
)
def test_a_missing_config_file_stops_every_command_before_any_request(
    command: str, tmp_path: Path, ready, arm_server, capsys, monkeypatch
) -> None:
    # the environment alone would make a complete deployment at the default names
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    monkeypatch.setenv("NUMERAI_MODEL_ID", MODEL_ID)
    missing = tmp_path / "typo" / "config.toml"
    code, out, err = _run(capsys, command, *_yes(command), "--config", str(missing))
    assert code == 2, err
    assert f"the settings file {missing} does not exist" in err and "Traceback" not in err
    assert arm_server.requests == []
    assert not missing.exists()
    code, out, err = _run(capsys, command, "--json", *_yes(command), "--config", str(missing))
    assert code == 2 and json.loads(out)["error"]["code"] == "bad_settings"
    assert arm_server.requests == []


# --- point 5: destroy clears only the webhook deploy registered ----------------------


@pytest.mark.parametrize("registered", [False, True])
def test_destroy_leaves_a_webhook_that_is_not_the_logic_apps_url_and_names_it(
    registered: bool, config: Path, ready, arm_server, numerai_server, capsys, monkeypatch
) -> None:
    """The model's webhook points at the user's own compute elsewhere: never registered by
    this tool, or registered once but the Logic App's URL is not what was registered."""
    from numerai_aci_wizard.store import RunState, state_path

    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    model = numerai_server.model_id
    numerai_server.set_webhook(model, "https://their.example/hook")
    if registered:
        RunState(webhook_model_id=model, webhook_fingerprint="0" * 64).save(state_path(config))
    code, out, err = _run(capsys, "destroy", "--yes", "--config", str(config))
    assert code == 0, err
    assert numerai_server.webhooks[model] == "https://their.example/hook"
    assert "Left the webhook of" in out and "clear it at numer.ai" in out
    assert f"Kept: webhook {model} (not the Logic App's URL as registered" in out


# --- point 9: a name that reads as a path step ----------------------------------------


@pytest.mark.parametrize("command", ACTING)
@pytest.mark.parametrize("name", [".", ".."])
def test_a_logic_app_named_dot_or_dot_dot_stops_before_any_request(
    command: str, name: str, config: Path, ready, arm_server, capsys
) -> None:
    code, out, err = _run(
        capsys, command, *_yes(command), "--logic-app", name, "--config", str(config)
    )
    assert code == 2 and "reads as a folder in a path" in err, err
    assert arm_server.requests == []
    _misspell(config, 'logic_app = "startaci"', f'logic_app = "{name}"')
    code, out, err = _run(capsys, command, "--json", *_yes(command), "--config", str(config))
    assert code == 2 and json.loads(out)["error"]["code"] == "bad_settings"
    assert arm_server.requests == []
