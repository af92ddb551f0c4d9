"""What keeps the wizard quick to open and never frozen (the figures: benchmarks/).

The first frame needs only the settings and the Welcome step: the pipeline, the engines
and their SDKs load when the work first runs. And once the app is up the collector only
collects young objects: a full collection walks every object the SDKs brought in, and
it would stop the screen for over 100 ms wherever it landed.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numerai_aci_wizard.tui.app import WizardApp, collect_young_only

#: what the first frame must not wait for
WORK_MODULES = (
    "numerai_aci_wizard.pipeline",
    "numerai_aci_wizard.services.azure_auth",
    "numerai_aci_wizard.services.azure_provision",
    "numerai_aci_wizard.services.docker_image",
    "numerai_aci_wizard.services.numerai_api",
    "azure",
    "docker",
    "numerapi",
    "pandas",
)

WELCOME_ONLY = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from numerai_aci_wizard.tui.app import WizardApp

    async def main() -> None:
        app = WizardApp(Path(sys.argv[1]))  # the real engines, as the command makes it
        async with app.run_test() as pilot:
            await pilot.pause()
            assert type(app.screen).__name__ == "WelcomeScreen", app.screen
            print("\\n".join(sorted(sys.modules)))

    asyncio.run(main())
    """
)


def test_the_first_frame_loads_none_of_the_work(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WELCOME_ONLY, str(tmp_path / "config.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NUMERAI_ACI_OFFLINE_PRICES": "1"},
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "numerai_aci_wizard.tui.screens.welcome" in loaded  # the frame was drawn
    assert sorted(loaded & set(WORK_MODULES)) == []


async def test_the_welcome_is_the_first_screen_and_each_step_replaces_the_last(
    make_app: Callable[..., WizardApp],
) -> None:
    """No blank screen is composed and styled before the Welcome: it is the app's own."""
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert [screen.name for screen in app.screen_stack] == ["welcome"]
        for step in ("numerai", "azure", "welcome", "numerai"):
            app.goto(step)
            await pilot.pause()
            # the first Welcome cannot be switched away (Textual): it stays, hidden, under the step
            assert [screen.name for screen in app.screen_stack] == ["welcome", step]
            assert app.screen.name == step


@pytest.fixture
def collector() -> Iterator[list[int]]:
    """The generations collected from now on; the collector's settings are put back after."""
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    started: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield started
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if enabled:
            gc.enable()
        else:
            gc.disable()


def _load_like_an_sdk() -> list[list[object]]:
    """Many long-lived objects (as an SDK import makes) among short-lived cycles."""
    kept: list[list[object]] = []
    for _ in range(300_000):
        cycle: list[object] = []
        cycle.append(cycle)  # garbage at once, for a young collection to find
        kept.append([])
    return kept


def _collections_while_loading(setup: Callable[[], None], started: list[int]) -> set[int]:
    setup()
    started.clear()
    _load_like_an_sdk()
    return set(started)


def test_after_start_up_only_young_objects_are_collected(collector: list[int]) -> None:
    # the same load with the collector as Python sets it up does start a full collection
    assert 2 in _collections_while_loading(gc.freeze, collector)
    seen = _collections_while_loading(collect_young_only, collector)
    assert 0 in seen and 1 in seen
    assert 2 not in seen
    assert gc.isenabled()
