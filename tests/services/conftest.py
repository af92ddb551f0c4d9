"""Fixtures the service tests against the local ARM server share."""

from __future__ import annotations

from typing import Any

import pytest

from numerai_aci_wizard.services.azure_auth import sign_in


@pytest.fixture
def credential(arm_server: Any, az_cli_login: Any) -> Any:
    """A real azure-identity credential from the fake `az login`, for the ARM stand-in."""
    return sign_in(allow_device_code=False).credential
