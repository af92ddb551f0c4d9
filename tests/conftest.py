"""Root fixtures. Every module in tests/fixtures/ is a pytest plugin (real local servers:
dockerd + registry, the ARM server, the Numerai server), loaded here so each can be
owned and grown on its own."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    f"tests.fixtures.{p.stem}"
    for p in sorted((Path(__file__).parent / "fixtures").glob("*.py"))
    if p.stem != "__init__"
]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the CPUs this process may use. A test here waits about
    as much as it computes (dockerd building, the CLI in a subprocess, a Pilot waiting for the
    screen to go idle); the extra worker fills those waits. PYTEST_XDIST_AUTO_NUM_WORKERS wins,
    as it does in xdist's own default."""
    chosen = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS", "")
    if chosen.strip().isdigit():
        return int(chosen)
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return (len(usable) if usable else os.cpu_count() or 1) + 1


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``-n auto --dist loadgroup``) every real-engine test runs in one
    worker: one private dockerd, registry and base image for them all, built once.

    First among the hooks: xdist's own reads the ``xdist_group`` marks to name the groups, and
    a mark added after it is not seen (the docker tests were spread over both workers, each
    starting a dockerd and building the image: tests/unit/test_test_groups.py).

    ``linux_only`` (see pyproject.toml): skipped off Linux, never skipped on Linux, so the
    Linux CI job runs every one of them while the Windows and macOS jobs run the rest."""
    for item in items:
        if item.get_closest_marker("docker") is not None:
            item.add_marker(pytest.mark.xdist_group("docker"))
    if sys.platform.startswith("linux"):
        return
    skip = pytest.mark.skip(reason=f"linux_only: needs Linux, this is {sys.platform}")
    for item in items:
        if item.get_closest_marker("linux_only") is not None:
            item.add_marker(skip)


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Between two tests: collect what the test left, then freeze the rest out of the
    collector's way, as the wizard itself does once it is up (tui/app.collect_young_only).

    What is left after a collection lives on (modules, caches, session fixtures); scanning it
    again in every full collection cost a fifth of a Pilot test's time (measured with
    gc.callbacks: 25 s of 120 s in tests/tui/test_wizard.py and test_buttons.py)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the developer's real config, state, keyring or docker config,
    and no secret leaks in from the developer's environment.

    The tool's own folders come from NUMERAI_ACI_HOME, the one override that works on every
    OS (platformdirs ignores XDG on Windows and macOS); the XDG variables and HOME are set
    too, for the libraries that follow them on Linux."""
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("DOCKER_CONFIG", "docker-config"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for var in (
        "NUMERAI_PUBLIC_ID",
        "NUMERAI_SECRET_KEY",
        "NUMERAI_MODEL_ID",
        "DOCKER_USERNAME",
        "DOCKER_PASSWORD",
        "AZURE_RESOURCE_MANAGER_ENDPOINT",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_TENANT_ID",
        "NUMERAI_API_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith("NUMERAI_ACI_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NUMERAI_ACI_HOME", str(home / "numerai-aci"))


@pytest.fixture(autouse=True)
def _python_ssl_after_each_test() -> Iterator[None]:
    """cli.main() puts the OS trust store into ``ssl`` for the whole process (tls.py); a
    test that ran it leaves Python's own ``ssl`` behind for the next."""
    yield
    from numerai_aci_wizard import tls

    tls.restore()
