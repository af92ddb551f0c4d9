"""What a first round on real Azure and real registries trips on (issue #23), headless,
against the stand-ins taught each behaviour: a registry holding an Apple Silicon image,
Docker Hub's repository API, ARM's provider registration and policy denials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save
from tests.support.registry_token import OCI_INDEX

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
PASSWORD = "alice-Secret-pw-42"


@pytest.fixture
def existing_image_user(
    arm_server, az_cli_login, numerai_server, token_registry, tmp_path: Path, monkeypatch
) -> Settings:
    """A user who deploys an image pushed elsewhere (docker.build = false), keys exported."""
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")
    monkeypatch.setenv("DOCKER_PASSWORD", PASSWORD)
    token_registry.users["alice"] = PASSWORD
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.build = False
    settings.docker.username = "alice"
    return settings


def _deploy(settings: Settings, tmp_path: Path, capsys) -> tuple[int, dict[str, object]]:
    config = tmp_path / "config.toml"
    save(settings, config)
    code = main(["deploy", "--json", "--yes", "--config", str(config)])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("media_type", "platforms"),
    [
        (OCI_INDEX, ("linux/arm64",)),
        ("application/vnd.docker.distribution.manifest.v2+json", ("linux/arm64",)),
    ],
    ids=["arm64-index", "arm64-manifest"],
)
def test_deploy_refuses_an_image_aci_cannot_run_before_any_write(
    existing_image_user: Settings, token_registry, arm_server, tmp_path: Path, capsys,
    media_type: str, platforms: tuple[str, ...],
) -> None:  # fmt: skip
    token_registry.add_image("alice/predict", "mac", readers=("alice",), media_type=media_type,
                             platforms=platforms)  # fmt: skip
    existing_image_user.docker.image = f"{token_registry.host}/alice/predict:mac"
    code, out = _deploy(existing_image_user, tmp_path, capsys)
    error = out["error"]
    assert isinstance(error, dict)
    assert (code, error["code"]) == (2, "image_platform")
    assert "linux/arm64" in error["message"] and "linux/amd64" in error["message"]
    assert "--platform linux/amd64" in error["hint"]
    assert arm_server.writes() == []  # nothing created on Azure


def test_deploy_takes_a_multi_platform_image_with_amd64(
    existing_image_user: Settings, token_registry, arm_server, tmp_path: Path, capsys
) -> None:
    token_registry.add_image("alice/predict", "multi", readers=("alice",), media_type=OCI_INDEX,
                             platforms=("linux/arm64", "linux/amd64"))  # fmt: skip
    existing_image_user.docker.image = f"{token_registry.host}/alice/predict:multi"
    code, out = _deploy(existing_image_user, tmp_path, capsys)
    assert code == 0, out
    assert arm_server.writes() != []


@pytest.mark.docker
def test_deploy_refuses_to_push_models_into_a_public_docker_hub_repository(
    arm_server, az_cli_login, numerai_server, docker_env, docker_hub_api, small_context,
    busybox_base, tmp_path: Path, capsys, monkeypatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NUMERAI_PUBLIC_ID", numerai_server.public_id)
    monkeypatch.setenv("NUMERAI_SECRET_KEY", numerai_server.secret_key)
    monkeypatch.setenv("NUMERAI_API_URL", numerai_server.url)
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")
    monkeypatch.setenv("DOCKER_PASSWORD", PASSWORD)
    docker_hub_api.add_account("alice", PASSWORD)
    docker_hub_api.add_repository("alice", "numerai-predict", private=False)
    settings = Settings()
    settings.numerai.model_id = numerai_server.model_id
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "alice/numerai-predict:latest"
    settings.docker.username = "alice"
    settings.docker.context = str(small_context)
    settings.docker.base_image = busybox_base
    code, out = _deploy(settings, tmp_path, capsys)
    error = out["error"]
    assert isinstance(error, dict)
    assert (code, error["code"]) == (2, "image_public")
    assert "--public-image-ok" in error["hint"]
    assert arm_server.writes() == []
    tags = [t for i in docker_env.client().images.list() for t in i.tags]
    assert not any(t.startswith("alice/numerai-predict") for t in tags)  # not even built


def test_plan_refuses_an_arm64_image_and_reads_past_an_unreadable_one(
    existing_image_user: Settings, token_registry, arm_server, tmp_path: Path, capsys
) -> None:
    token_registry.add_image("alice/predict", "mac", public=True, media_type=OCI_INDEX,
                             platforms=("linux/arm64",))  # fmt: skip
    existing_image_user.docker.image = f"{token_registry.host}/alice/predict:mac"
    config = tmp_path / "config.toml"
    save(existing_image_user, config)
    code = main(["plan", "--json", "--config", str(config)])
    error = json.loads(capsys.readouterr().out)["error"]
    assert (code, error["code"]) == (2, "image_platform")
    # an image plan cannot read (no such tag here) is left to deploy: plan still plans
    existing_image_user.docker.image = f"{token_registry.host}/alice/predict:elsewhere"
    save(existing_image_user, config)
    code = main(["plan", "--json", "--config", str(config)])
    assert code == 0 and "actions" in json.loads(capsys.readouterr().out)
    assert arm_server.writes() == []
