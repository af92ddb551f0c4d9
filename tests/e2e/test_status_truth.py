"""`status` says what it knows (issue 21, item 3): a read of the submissions that failed is
not "no submission yet". Against the local ARM and Numerai stand-ins; no Docker needed."""

from __future__ import annotations

import json

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save


@pytest.fixture
def config(arm_server, az_cli_login, numerai_server, monkeypatch, tmp_path):
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = "00000000-0000-0000-0000-000000000001"
    settings.azure.location = "eastus"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "ada1/predict:latest"
    settings.docker.username = "ada1"
    path = tmp_path / "config.toml"
    save(settings, path)
    return path


def test_status_json_says_the_submissions_were_not_read(config, numerai_server, capsys) -> None:
    numerai_server.fail_next("submissions", "Internal query error", times=5)
    assert main(["status", "--json", "--config", str(config)]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["latest"] is None and model["checked"] is False
    assert "Internal query error" in model["problem"]
    assert "refused" not in model["problem"]


def test_status_json_with_an_answer_is_checked(config, capsys) -> None:
    assert main(["status", "--json", "--config", str(config)]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["checked"] is True and model["problem"] == ""


@pytest.mark.parametrize(("local", "noted"), [(True, False), (False, True)])
def test_only_a_command_that_uses_azure_notes_where_the_token_goes(
    tmp_path, monkeypatch, capsys, local, noted
) -> None:
    """`trigger --local` runs on this machine's Docker: no word about an Azure token."""
    for name in ("NUMERAI_PUBLIC_ID", "NUMERAI_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    settings.azure.arm_endpoint = "https://127.0.0.1:9"
    path = tmp_path / "config.toml"
    save(settings, path)
    args = ["trigger", *(["--local"] if local else []), "--config", str(path)]
    assert main(args) == 2  # the Numerai keys are missing: nothing runs
    err = capsys.readouterr().err
    assert ("your Azure token is sent there" in err) is noted
