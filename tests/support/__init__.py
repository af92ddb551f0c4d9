"""Everything tests share that is not a fixture: small helpers here, and the test doubles.

The doubles, importable without pytest (benchmarks and the screenshots script start them
too); the pytest fixtures wrapping them live in tests/fixtures/:
- ``arm`` (the Azure Resource Manager REST API, with ``arm_specs`` and ``azure_specs/``),
  ``entra`` (Entra ID's device code), ``az_cli`` (the ``az`` CLI): Azure;
- ``docker_api`` (a Docker Engine API), ``docker_hub`` (Docker Hub's repository API),
  ``registry_token`` (a registry with Docker Hub's bearer-token sign-in): Docker;
- ``numerai`` (a synthetic live round and Numerai's GraphQL API);
- ``windows_os`` (msvcrt and kernel32, for the run lock on Windows);
- ``engines``: in-process stand-ins of the engine Protocols, for the fast TUI tests and
  the screenshots.
"""

from __future__ import annotations

import os
from typing import Any

from numerai_aci_wizard.settings import Secrets, Settings

#: the secrets the ARM stand-in tests deploy with (fake, of the right shapes)
ARM_SECRETS = Secrets("A" * 32, "B" * 64, "hub-password-1")


def arm_settings(server: Any, trigger: str = "api-connection") -> Settings:
    """Settings for one deployment against the local ARM server ``server``."""
    s = Settings()
    s.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    s.azure.subscription_id = server.subscription_id
    s.azure.location = "eastus"
    s.azure.trigger = trigger
    s.azure.arm_endpoint = server.endpoint
    s.docker.image = "myuser/numerai-predict:latest"
    s.docker.username = "myuser"
    return s


#: someone else's Logic App flow: an HTTP trigger that only answers (it starts no container)
ANSWER_ONLY_WORKFLOW = {
    "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/"
    "schemas/2016-06-01/workflowdefinition.json#",
    "contentVersion": "1.0.0.0",
    "triggers": {"request": {"type": "Request", "kind": "Http", "inputs": {"schema": {}}}},
    "actions": {
        "reply": {
            "type": "Response",
            "kind": "Http",
            "inputs": {"statusCode": 202},
            "runAfter": {},
        }
    },
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when a real engine is missing on a developer machine; fail in CI, where it must exist."""
    import pytest

    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)
