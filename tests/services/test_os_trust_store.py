"""HTTPS trusts the OS store (truststore), so a corporate proxy's CA that IT installed into
Windows or macOS works without REQUESTS_CA_BUNDLE; a named bundle still wins.

Here the "OS store" holding the proxy's CA is OpenSSL's default file (SSL_CERT_FILE), which
truststore uses on Linux as it uses CryptoAPI on Windows and the Security framework on
macOS; the "proxy" is the local ARM server, whose certificate comes from a test CA that
certifi (requests' own bundle) does not know.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from numerai_aci_wizard import tls
from numerai_aci_wizard.settings import Settings
from numerai_aci_wizard.store import save

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def os_trusts_the_proxy_ca(arm_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test CA in the OS store, no bundle named; the endpoint to call."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", arm_server.ca_path)
    try:
        yield arm_server.endpoint
    finally:
        tls.restore()


@pytest.mark.linux_only  # the OS store simulated by OpenSSL's default file
def test_without_the_os_store_requests_refuses_the_proxy_and_with_it_connects(
    os_trusts_the_proxy_ca: str,
) -> None:
    url = f"{os_trusts_the_proxy_ca}/subscriptions?api-version=2022-12-01"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=30)  # certifi's bundle: what the tool did before
    assert tls.use_os_trust_store() is True
    assert requests.get(url, timeout=30).status_code in (200, 401)  # TLS went through
    tls.restore()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=30)


def test_a_named_bundle_still_wins(arm_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", os.devnull)  # the OS store would trust nothing
    assert os.environ["REQUESTS_CA_BUNDLE"] == arm_server.ca_path
    try:
        assert tls.use_os_trust_store() is False
        response = requests.get(f"{arm_server.endpoint}/subscriptions?api-version=2022-12-01")
        assert response.status_code in (200, 401)
    finally:
        tls.restore()


@pytest.mark.linux_only  # the OS store simulated by OpenSSL's default file
def test_every_command_trusts_the_os_store(
    os_trusts_the_proxy_ca: str, arm_server: Any, az_cli_login: Any, tmp_path: Path
) -> None:
    """`plan` end to end (azure-identity, azure-mgmt and the price lookup's urllib) with
    only the OS store trusting the server."""
    settings = Settings()
    settings.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    settings.azure.subscription_id = arm_server.subscription_id
    settings.azure.location = "eastus"
    settings.azure.resource_group = "numerai-truststore"
    settings.azure.arm_endpoint = arm_server.endpoint
    settings.docker.image = "myuser/numerai-predict:latest"
    settings.docker.username = "myuser"
    config = tmp_path / "config.toml"
    save(settings, config)
    done = subprocess.run(
        [sys.executable, "-m", "numerai_aci_wizard", "plan", "--no-price-lookup"]
        + ["--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "NUMERAI_ACI_OFFLINE_PRICES": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "create   container_group" in done.stdout
