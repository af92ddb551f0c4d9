"""The pipeline with several models, on the engines' stand-ins: which model's webhook Numerai
holds after each deploy, and that a holder left from an earlier run is cleared (only once the
new holder is registered, and again by the next run if clearing failed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from numerai_aci_wizard.engines import NumeraiEngine
from numerai_aci_wizard.events import ErrorCode, WizardError
from numerai_aci_wizard.session import Session
from numerai_aci_wizard.settings import Secrets, Settings
from tests.support.engines import (
    MODEL_ID,
    OTHER_MODEL_ID,
    PUBLIC_ID,
    SECRET_KEY,
    WEBHOOK_URL,
    FakeNumerai,
    World,
)

SECRETS = Secrets(PUBLIC_ID, SECRET_KEY, "fake-registry-password")


def settings(*model_ids: str) -> Settings:
    s = Settings()
    s.numerai.model_ids = list(model_ids)
    s.azure.subscription_id = "00000000-0000-0000-0000-000000000001"
    s.azure.location = "eastus"
    s.docker.image = "ada1/numerai-predict:latest"
    s.docker.username = "ada1"
    return s


def deploy(world: World, config: Path, *model_ids: str):  # noqa: ANN201
    session = Session(
        settings(*model_ids), config_path=config, secrets=SECRETS, engines=world.engines()
    )
    return session.pipeline().deploy()


def webhooks(world: World) -> dict[str, str]:
    return {m: url for m, url in world.webhooks.items() if url}


def test_the_first_model_holds_the_webhook_and_a_reorder_moves_it(tmp_path: Path) -> None:
    world, config = World(), tmp_path / "config.toml"
    result = deploy(world, config, MODEL_ID, OTHER_MODEL_ID)
    assert webhooks(world) == {MODEL_ID: WEBHOOK_URL}
    assert (result.webhook_model, result.models) == ("ada_model", ["ada_model", "ada_second"])
    hooks = [(a.name, a.action) for a in result.plan.actions if a.resource == "webhook"]
    assert hooks == [("ada_model", "create"), ("ada_second", "keep")]

    moved = deploy(world, config, OTHER_MODEL_ID, MODEL_ID)
    hooks = [(a.name, a.action) for a in moved.plan.actions if a.resource == "webhook"]
    assert hooks == [("ada_second", "create"), ("ada_model", "delete")]
    assert webhooks(world) == {OTHER_MODEL_ID: WEBHOOK_URL}
    assert moved.webhook_model == "ada_second"


class ClearRefused(World):
    """Numerai refuses to clear a webhook (once ``refuse_clear`` is set); registering works."""

    refuse_clear = False
    calls: list[tuple[str, str | None]]

    def numerai(self, public_id: str, secret_key: str) -> NumeraiEngine:
        world = self

        class Numerai(FakeNumerai):
            def set_webhook(self, model_id: str, url: str | None) -> None:
                world.calls.append((model_id, url))
                if url is None and world.refuse_clear:
                    raise WizardError(
                        "Numerai is down", "try again", code=ErrorCode.NUMERAI_UNREACHABLE
                    )
                super().set_webhook(model_id, url)

        return Numerai(self, public_id, secret_key)


def test_a_failed_clear_leaves_the_new_holder_registered_and_the_next_run_clears(
    tmp_path: Path,
) -> None:
    world, config = ClearRefused(), tmp_path / "config.toml"
    world.calls = []
    deploy(world, config, MODEL_ID)
    world.calls.clear()
    world.refuse_clear = True
    with pytest.raises(WizardError):
        deploy(world, config, OTHER_MODEL_ID)
    # registered first: the round is served even though the old holder could not be cleared
    assert world.calls == [(OTHER_MODEL_ID, WEBHOOK_URL), (MODEL_ID, None)]
    assert webhooks(world) == {MODEL_ID: WEBHOOK_URL, OTHER_MODEL_ID: WEBHOOK_URL}
    world.refuse_clear = False
    result = deploy(world, config, OTHER_MODEL_ID)  # the state still names the old holder
    assert [(a.name, a.action) for a in result.plan.actions if a.resource == "webhook"] == [
        ("ada_second", "create"),
        ("ada_model", "delete"),
    ]
    assert webhooks(world) == {OTHER_MODEL_ID: WEBHOOK_URL}
