"""`trigger --local`: the image deploy would ship, run by the real local dockerd with the
container group's environment against the local Numerai server, judged by what landed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save
from tests.fixtures.python_base import copy_context
from tests.support.numerai.models import untrained_sklearn_pkl

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def user(
    docker_env: Any,
    numerai_server: Any,
    python_base_image: str,
    prediction_image: str,  # built first: the rehearsal's build reuses its cached layers
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """Saved-settings-to-be of a user who has not deployed yet; keys in the environment."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    monkeypatch.delenv("DOCKER_PASSWORD", raising=False)
    s = Settings()
    s.numerai.model_id = numerai_server.model_id
    s.azure.subscription_id = "00000000-0000-0000-0000-000000000001"
    s.azure.location = "eastus"
    s.docker.image = "myuser/numerai-predict:rehearsal"
    s.docker.username = "myuser"
    s.docker.base_image = python_base_image
    s.docker.pull = False
    return s


def _trigger_local(
    capsys: pytest.CaptureFixture[str], settings: Settings, path: Path, *args: str
) -> tuple[int, str, str]:
    save(settings, path)
    code = main(["trigger", "--local", *args, "--config", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_shipped_image_submits_and_the_rehearsal_passes(
    user: Settings,
    numerai_server: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user.docker.context = str(copy_context(tmp_path / "ok"))
    code, out, err = _trigger_local(capsys, user, tmp_path / "config.toml", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["ok"] is True and result["exit_code"] == 0
    [model] = result["models"]
    assert model["model_id"] == numerai_server.model_id and model["landed"] is True
    assert model["round"] == numerai_server.current_round
    [accepted] = numerai_server.accepted
    assert accepted.model_id == numerai_server.model_id
    assert "EXAMPLE predictions" in err  # the container's output, streamed (to stderr with --json)
    assert numerai_server.secret_key not in out + err
    assert numerai_server.public_id not in out + err


def test_a_model_that_raises_fails_the_rehearsal_with_its_error(
    user: Settings,
    numerai_server: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    context = copy_context(tmp_path / "broken")
    untrained_sklearn_pkl(tmp_path / "model" / "model.pkl")
    shutil.copy(tmp_path / "model" / "model.pkl", context / "models" / "model.pkl")
    user.docker.context = str(context)
    code, out, err = _trigger_local(capsys, user, tmp_path / "config.toml")
    assert code == 1, out + err
    assert numerai_server.accepted == []
    assert "NotFittedError" in out  # the model's error, as the container printed it
    assert "error: the rehearsal failed" in err and "no valid submission landed" in err
    assert "NotFittedError" in err  # and named in the failure itself
    assert numerai_server.secret_key not in out + err
