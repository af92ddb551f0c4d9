"""Text from outside is shown, never executed (issue 19, point 4): a container's output and
values ARM returns reach the terminal with every control sequence written out (OSC 52 would
write the clipboard, ESC [2J clears the screen, 0x9b is a one-byte CSI). The group is made
on the ARM stand-in directly, as a deploy leaves it (no Docker engine needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from numerai_aci_wizard.cli import main
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RG = "numerai-hostile"
GROUP = "numerai-hostile"
HOSTILE = "\x1b]52;c;cHduZWQ=\x07copied \x1b[2J cleared \x9b31m red \x1b]0;title\x07 done"
ESCAPED = "\\x1b]52;c;cHduZWQ=\\x07copied \\x1b[2J cleared \\x9b31m red \\x1b]0;title\\x07 done"
RAW = ("\x1b", "\x07", "\x9b")


def _clean(text: str) -> bool:
    return not any(c in text for c in RAW)


@pytest.fixture
def config(tmp_path: Path, arm_server, az_cli_login, monkeypatch) -> Path:
    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")
    settings = Settings()
    settings.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    settings.azure.subscription_id = SUBSCRIPTION
    settings.azure.location = "eastus"
    settings.azure.resource_group = RG
    settings.azure.container_group = GROUP
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "example/predict:latest"
    settings.docker.build = False
    path = tmp_path / "config.toml"
    save(settings, path)
    return path


def _group(arm_server, image: str = "example/predict:latest") -> None:
    """A container group as deploy makes it (tagged ours), whose run prints HOSTILE."""
    from azure.identity import AzureCliCredential
    from azure.mgmt.containerinstance import ContainerInstanceManagementClient
    from azure.mgmt.containerinstance.models import (
        Container,
        ContainerGroup,
        ResourceRequests,
        ResourceRequirements,
    )
    from azure.mgmt.resource.resources import ResourceManagementClient

    from tests.support.arm import RunOutcome

    def run(_: Any) -> RunOutcome:
        return RunOutcome(0, f"predicting\n{HOSTILE}\n")

    arm_server.run_container = run
    cred, endpoint = AzureCliCredential(), arm_server.endpoint
    tags = {"managed-by": "numerai-aci-wizard"}
    ResourceManagementClient(
        cred, SUBSCRIPTION, base_url=endpoint
    ).resource_groups.create_or_update(RG, {"location": "eastus", "tags": tags})
    body = ContainerGroup(
        location="eastus",
        os_type="Linux",
        restart_policy="Never",
        tags=tags,
        containers=[
            Container(
                name=GROUP,
                image=image,
                resources=ResourceRequirements(requests=ResourceRequests(cpu=1, memory_in_gb=2)),
            )
        ],
    )
    aci = ContainerInstanceManagementClient(cred, SUBSCRIPTION, base_url=endpoint)
    aci.container_groups.begin_create_or_update(RG, GROUP, body).result()
    arm_server.wait_for_run(GROUP)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("extra", [(), ("--tail", "5"), ("--follow",)])
def test_logs_show_the_containers_control_sequences_escaped(
    extra: tuple[str, ...], config: Path, arm_server, capsys
) -> None:
    _group(arm_server)
    code, out, err = _run(capsys, "logs", "--config", str(config), *extra)
    assert code == 0, err
    assert ESCAPED in out and "predicting" in out
    assert _clean(out) and _clean(err)


def test_logs_json_carries_the_text_json_escaped(config: Path, arm_server, capsys) -> None:
    _group(arm_server)
    code, out, err = _run(capsys, "logs", "--json", "--config", str(config))
    assert code == 0, err
    assert _clean(out)  # JSON writes controls as \u001b: a terminal shows them as text
    assert HOSTILE in json.loads(out)["logs"]  # a program reading it gets the text as it was


def test_status_shows_a_value_from_arm_escaped(config: Path, arm_server, capsys) -> None:
    _group(arm_server, image="example/predict:latest\x1b]0;pwned\x07")
    code, out, err = _run(capsys, "status", "--config", str(config))
    assert code == 0, err
    assert "example/predict:latest\\x1b]0;pwned\\x07" in out
    assert _clean(out) and _clean(err)
