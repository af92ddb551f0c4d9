"""Make the README's screenshots from the real wizard: screenshots/<nn>-<screen>.svg.

The real app, driven like a user (Pilot) at 100x40, with the fake engines of the TUI
tests (tests/support/engines.py): fixed names, obviously fake keys (masked anyway), prices from
the built-in table, a webhook URL whose sig is FAKE-SIGNATURE. Nothing is read from or
written to the user's own settings, state or keyring.

    .venv/bin/python screenshots/make_screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZE = (100, 40)
SHOWN_CONFIG = Path("/home/ada/.config/numerai-aci-wizard/config.toml")


def _isolate(tmp: Path) -> None:
    """Private dirs and no secrets from this machine; prices from the built-in table."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[var] = str(tmp / var.lower())
    os.environ["HOME"] = str(tmp / "home")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ["NUMERAI_ACI_OFFLINE_PRICES"] = "1"
    for var in list(os.environ):
        if (
            var.startswith(("NUMERAI_", "DOCKER_", "AZURE_"))
            and var != "NUMERAI_ACI_OFFLINE_PRICES"
        ):
            del os.environ[var]
    os.environ["NUMERAI_ACI_HOME"] = str(tmp / "aci-home")  # the tool's own files, on every OS


async def _settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def main(out: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from numerai_aci_wizard.events import WizardError
    from numerai_aci_wizard.settings import Settings
    from numerai_aci_wizard.store import save
    from numerai_aci_wizard.tui.app import WizardApp
    from numerai_aci_wizard.tui.screens.dialogs import DeviceCodeScreen
    from tests.support.engines import (
        MODEL_ID,
        OTHER_MODEL_ID,
        PUBLIC_ID,
        SECRET_KEY,
        SUBSCRIPTION,
        World,
    )

    tmp = Path(tempfile.mkdtemp(prefix="wizard-screenshots-"))
    _isolate(tmp)
    env = {
        "NUMERAI_PUBLIC_ID": PUBLIC_ID,
        "NUMERAI_SECRET_KEY": SECRET_KEY,
        "DOCKER_PASSWORD": "fake-registry-password",
    }

    def answered(**changes: object) -> Settings:
        s = Settings()
        s.numerai.model_id, s.numerai.model_name = MODEL_ID, "ada_model"
        s.azure.subscription_id, s.azure.location = SUBSCRIPTION, "eastus"
        s.docker.image, s.docker.username = "ada1/numerai-predict:latest", "ada1"
        for key, value in changes.items():
            s.set(key.replace("__", "."), value)
        return s

    made: list[Path] = []

    async def shot(
        name: str,
        drive: Callable[[WizardApp, object], Awaitable[None]],
        settings: Settings | None = None,
        world: World | None = None,
        config: Path | None = None,
        secrets: dict[str, str] | None = None,
    ) -> None:
        world = world or World()
        if config is None:
            config = tmp / f"{name}.toml"
            if settings is not None:
                save(settings, config)
        app = WizardApp(
            config,
            engines=world.engines(),
            env=env if secrets is None else secrets,
            blink=False,
            polling_interval=0.01,
        )
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await drive(app, pilot)
            await pilot.pause()
            path = out / f"{name}.svg"
            path.write_text(
                app.export_screenshot(title=f"numerai-aci-wizard: {name[3:]}"), encoding="utf-8"
            )
            made.append(path)

    async def welcome(app, pilot) -> None:
        pass

    async def numerai(app, pilot) -> None:
        app.goto("numerai")
        await pilot.pause()
        await pilot.click("#check-keys")
        await _settle(pilot)

    async def azure(app, pilot) -> None:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        await _settle(pilot)

    device_world = World(device_code=True)

    async def device_code(app, pilot) -> None:
        app.goto("azure")
        await pilot.pause()
        await pilot.click("#sign-in")
        for _ in range(100):
            await pilot.pause(0.02)
            if isinstance(app.screen, DeviceCodeScreen):
                break
        await pilot.pause(0.1)

    async def size(app, pilot) -> None:
        await azure(app, pilot)
        await pilot.press("ctrl+n")
        await _settle(pilot)

    async def docker(app, pilot) -> None:
        app.goto("docker")
        await pilot.pause()

    async def review(app, pilot) -> None:
        app.goto("review")
        await _settle(pilot)

    async def deploy(app, pilot) -> None:
        await review(app, pilot)
        await pilot.press("ctrl+n")
        await _settle(pilot)

    async def done(app, pilot) -> None:
        await deploy(app, pilot)
        await pilot.click("#next")
        await pilot.pause()

    async def done_history(app, pilot) -> None:
        await done(app, pilot)
        await _settle(pilot)
        app.screen.query_one("#history").scroll_visible(animate=False)
        await pilot.pause()

    from datetime import UTC, datetime

    from numerai_aci_wizard.engines import Submission, WorkflowRun

    history_world = World()
    history_world.runs = [
        WorkflowRun("r3", datetime(2026, 11, 24, 13, 0, 4, tzinfo=UTC), "succeeded"),
        WorkflowRun(
            "r2",
            datetime(2026, 11, 21, 13, 0, 2, tzinfo=UTC),
            "failed",
            failed_action="Start_container_group",
            code="Unauthorized",
            message="The API connection 'aci' is not authorized",
        ),
        WorkflowRun("r1", datetime(2026, 11, 20, 13, 0, 3, tzinfo=UTC), "succeeded"),
    ]
    history_world.submissions = {
        MODEL_ID: [
            Submission("s2", 1101, None, datetime(2026, 11, 24, 13, 4, 51, tzinfo=UTC)),
            Submission("s1", 1099, None, datetime(2026, 11, 20, 13, 5, 12, tzinfo=UTC)),
        ]
    }

    failing = World()
    failing.fail["workflow"] = WizardError(
        "Azure refused to create Logic App startaci: 403 AuthorizationFailed",
        "ask the subscription's owner for the Contributor role on numerai-rg",
    )
    await shot("01-welcome", welcome, config=SHOWN_CONFIG, secrets={})
    two_models = [MODEL_ID, OTHER_MODEL_ID]
    await shot("02-numerai", numerai, answered(numerai__model_ids=two_models))
    await shot("03-azure", azure, answered())
    await shot("04-azure-device-code", device_code, answered(), world=device_world)
    device_world.approve.set()
    await shot("05-size", size, answered(azure__memory_gb=2.5))
    await shot("06-docker", docker, answered())
    await shot("07-review", review, answered())
    await shot("08-deploy", deploy, answered())
    await shot("09-deploy-failed", deploy, answered(), world=failing)
    await shot("10-done", done, answered(numerai__model_ids=two_models))
    await shot("11-done-history", done_history, answered(), world=history_world)
    return made


if __name__ == "__main__":
    for path in asyncio.run(main(HERE)):
        print(path.relative_to(ROOT))
