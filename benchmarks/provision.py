"""How much of Azure's waiting the provisioning adds on top of the waits it cannot avoid.

Real ARM long-running operations (LROs) take seconds to minutes; the tool should wait for
them once each, on the critical path only, and notice the end promptly (polls every 1 s,
Retry-After wins). So the figure is (wall(L) - wall(0)) / L with every LRO of the local
ARM server taking 0 s and then L seconds (Retry-After: 1):

* first deploy: the container group's create is the only LRO on the critical path (the
  connection -> Logic App chain runs beside it): target <= 1.3;
* resize: delete + create of the group, two LROs in a row: target <= 2.3.

The real SDK clients talk HTTPS to tests/support/arm.py started in this process; the
credential is a fixed bearer token (sign-in is not what is measured).

Run: python benchmarks/provision.py [L seconds] [runs]   (from the repository root;
default L = 4, 1 run per point)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from numerai_aci_wizard.services.azure_provision import Azure  # noqa: E402
from numerai_aci_wizard.settings import Secrets, Settings  # noqa: E402
from tests.support.arm import ArmServer, LocalCA  # noqa: E402

TARGETS = {"first deploy": 1.3, "resize": 2.3}
SECRETS = Secrets("A" * 32, "B" * 64, "registry-password")


class FixedToken:
    """A bearer token the fake accepts; expiry an hour away so it is fetched once."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("benchmark-token", int(time.time()) + 3600)


def settings_for(server: ArmServer, memory_gb: float = 2.0) -> Settings:
    s = Settings()
    s.numerai.model_id = "2f0c41d7-0b1e-4a4b-9a54-1c2d3e4f5a6b"
    s.azure.subscription_id = server.subscription_id
    s.azure.location = "eastus"
    s.azure.memory_gb = memory_gb
    s.azure.cpu = 1.0
    s.azure.arm_endpoint = server.endpoint
    s.docker.image = "myuser/numerai-predict:latest"
    s.docker.username = "myuser"
    return s


def timed_apply(server: ArmServer, settings: Settings) -> float:
    azure = Azure(settings, FixedToken(), polling_interval=1.0)
    started = time.perf_counter()
    result = azure.apply(SECRETS)
    elapsed = time.perf_counter() - started
    assert "sig=" in result.webhook_url
    return elapsed


def first_deploy(server: ArmServer, lro: float) -> float:
    server.reset()
    server.lro_seconds, server.retry_after = lro, 1
    return timed_apply(server, settings_for(server))


def resize(server: ArmServer, lro: float) -> float:
    server.reset()
    server.lro_seconds, server.retry_after = 0, 1
    timed_apply(server, settings_for(server, memory_gb=2.0))
    server.lro_seconds = lro
    return timed_apply(server, settings_for(server, memory_gb=4.0))


def main() -> int:
    lro = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with tempfile.TemporaryDirectory() as tmp:
        server = ArmServer(LocalCA(tmp)).start()
        os.environ["REQUESTS_CA_BUNDLE"] = server.ca_path
        try:
            failed = False
            first_deploy(server, 0)  # warm-up: imports and TLS set-up are not what is measured
            print(f"L = {lro:g} s, Retry-After 1 s, polling interval 1 s, {runs} run(s) per point")
            for name, scenario in (("first deploy", first_deploy), ("resize", resize)):
                zero = statistics.median(scenario(server, 0) for _ in range(runs))
                slow = statistics.median(scenario(server, lro) for _ in range(runs))
                ratio = (slow - zero) / lro
                ok = ratio <= TARGETS[name]
                failed |= not ok
                print(
                    f"{name:13s} wall(0) {zero:6.2f} s  wall(L) {slow:6.2f} s  "
                    f"(wall(L)-wall(0))/L = {ratio:.2f}  target <= {TARGETS[name]}  "
                    f"{'ok' if ok else 'MISSED'}"
                )
        finally:
            server.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
