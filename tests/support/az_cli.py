"""A fake `az` executable for AzureCliCredential.

AzureCliCredential finds `az` on PATH and runs
`az account get-access-token --output json --resource <r> [--tenant t] [--subscription s]`,
then parses `accessToken` + `expires_on`; a CLI that is not signed in writes
"Please run 'az login' ..." to stderr and exits 1. Like az, a token is for one tenant: the
one asked for (`--tenant`), else the subscription's (`--subscription`), else the default
subscription's; a tenant the user does not belong to fails as az does. Like az, it is set
to one cloud (`az cloud set`; `az cloud show` names it): a token for another cloud's Resource
Manager fails with AADSTS500011, as Entra ID answers for a resource it does not know. The
fake does just that, reading its
state (signed in or not, who) from a JSON file next to it, so a test can sign in and out
between calls, and it logs every invocation for assertions. A `#!` script; on Windows an
`az.cmd` beside it runs that script with this Python, as the real az.cmd runs az's.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.arm import DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID
from tests.support.entra import DEFAULT_OID, DEFAULT_USERNAME, access_token_claims, make_jwt

_SCRIPT = r"""
import base64, datetime, json, sys
STATE = __STATE__
LOG = __LOG__
#: each cloud's Resource Manager, the resource its tokens are for
ARM = {
    "AzureCloud": "https://management.azure.com",
    "AzureUSGovernment": "https://management.usgovcloudapi.net",
    "AzureChinaCloud": "https://management.chinacloudapi.cn",
}

def main(argv):
    with open(LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\n")
    import os  # which variables this child process inherited (names only, never values)
    with open(LOG + ".env", "a", encoding="utf-8") as log:
        log.write(json.dumps(sorted(os.environ)) + "\n")
    try:  # what this call's standard input is: the null device, or someone's terminal/pipe
        stdin = "devnull" if os.path.samestat(os.fstat(0), os.stat(os.devnull)) else "other"
    except OSError:
        stdin = "closed"
    with open(LOG + ".stdin", "a", encoding="utf-8") as log:
        log.write(json.dumps([argv[:2], stdin]) + "\n")
    with open(STATE, encoding="utf-8") as f:
        state = json.load(f)
    if argv[:1] == ["--version"] or argv[:1] == ["version"]:
        print('{"azure-cli": "2.67.0", "azure-cli-core": "2.67.0"}')
        return 0
    cloud = state.get("cloud", "AzureCloud")
    if argv[:2] == ["cloud", "show"]:  # answers signed in or not, as az does
        print(json.dumps({"name": cloud, "isActive": True, "profile": "latest",
                          "endpoints": {"resourceManager": ARM.get(cloud, "") + "/"}}, indent=2))
        return 0
    if argv[:2] not in (["account", "get-access-token"], ["account", "show"]):
        sys.stderr.write("ERROR: fake az: unsupported command: " + " ".join(argv) + "\n")
        return 2
    if not state["logged_in"]:
        sys.stderr.write("ERROR: Please run 'az login' to setup account.\n")
        return 1
    def opt(name, default=None):
        return argv[argv.index(name) + 1] if name in argv[:-1] else default
    subscription = opt("--subscription", state["subscription"])
    tenant = opt("--tenant", state["tenant"])
    if argv[:2] == ["account", "show"]:
        print(json.dumps({"id": subscription, "name": state["subscription_name"],
                          "tenantId": tenant, "state": "Enabled", "isDefault": True,
                          "user": {"name": state["username"], "type": "user"}}, indent=2))
        return 0
    if "--tenant" not in argv and "--subscription" in argv:
        tenant = state["subscription_tenants"].get(subscription.lower(), state["tenant"])
    if tenant.lower() not in [t.lower() for t in state["tenants"]]:
        sys.stderr.write("ERROR: AADSTS90002: Tenant '" + tenant + "' not found. Check to make "
                         "sure you have the correct tenant ID and are signing into the correct "
                         "cloud.\n")
        return 1
    resource = opt("--resource") or (opt("--scope") or "").rsplit("/.default", 1)[0]
    known = {url: name for name, url in ARM.items()}
    if known.get(resource.rstrip("/"), cloud) != cloud:  # another cloud's Resource Manager
        sys.stderr.write("ERROR: AADSTS500011: The resource principal named " + resource +
                         " was not found in the tenant named " + tenant + ". This can happen "
                         "if the application has not been installed by the administrator of "
                         "the tenant or consented to by any user in the tenant.\n")
        return 1
    token = state["tokens"].get(resource) or state["tokens"]["default"]
    if tenant.lower() != state["tenant"].lower():
        claims = dict(state["claims"], tid=tenant, iss="https://sts.windows.net/" + tenant + "/")
        enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        token = ".".join([enc({"typ": "JWT", "alg": "RS256"}), enc(claims), "c2ln"])
    expires = datetime.datetime.fromtimestamp(state["expires_on"])
    print(json.dumps({
        "accessToken": token,
        "expiresOn": expires.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "expires_on": state["expires_on"],
        "subscription": subscription,
        "tenant": tenant,
        "tokenType": "Bearer",
    }, indent=2))
    return 0

sys.exit(main(sys.argv[1:]))
"""


class FakeAzCli:
    """Owns a folder holding `az`, its state and its call log; put `.bin_dir` first on PATH."""

    def __init__(
        self,
        directory: str | Path,
        *,
        username: str = DEFAULT_USERNAME,
        oid: str = DEFAULT_OID,
        tenant_id: str = DEFAULT_TENANT_ID,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
    ) -> None:
        #: every directory the user belongs to, and which one holds each subscription
        self.tenants: list[str] = [tenant_id]
        #: the cloud `az cloud set` chose
        self.cloud = "AzureCloud"
        self.subscription_tenants: dict[str, str] = {}
        self.bin_dir = Path(directory)
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.bin_dir / "az-state.json"
        self.log_path = self.bin_dir / "az-calls.jsonl"
        self.log_path.touch()
        script = self.bin_dir / "az"
        body = _SCRIPT.replace("__STATE__", repr(str(self.state_path))).replace(
            "__LOG__", repr(str(self.log_path))
        )
        script.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.executable = script
        if sys.platform == "win32":  # az there is az.cmd, which is what gets looked up
            self.executable = self.bin_dir / "az.cmd"
            self.executable.write_text(f'@"{sys.executable}" "{script}" %*\r\n', encoding="utf-8")
        self.login(username=username, oid=oid, tenant_id=tenant_id, subscription_id=subscription_id)

    def stdins(self) -> list[tuple[list[str], str]]:
        """Per call, its first two arguments and what its stdin was ("devnull" or "other")."""
        path = Path(str(self.log_path) + ".stdin")
        if not path.exists():
            return []
        return [tuple(json.loads(line)) for line in path.read_text().splitlines() if line]  # type: ignore[misc]

    def env_names(self) -> list[list[str]]:
        """Per call, the names of the environment variables the `az` child process got."""
        path = Path(str(self.log_path) + ".env")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def login(
        self,
        *,
        username: str | None = None,
        oid: str | None = None,
        tenant_id: str | None = None,
        subscription_id: str | None = None,
        lifetime: int = 3600,
    ) -> None:
        """`az login`: later calls print a fresh token for this user."""
        old: dict[str, Any] = (
            json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        )
        self.username = username or old.get("username", DEFAULT_USERNAME)
        self.oid = oid or old.get("oid", DEFAULT_OID)
        self.tenant_id = tenant_id or old.get("tenant", DEFAULT_TENANT_ID)
        self.subscription_id = subscription_id or old.get("subscription", DEFAULT_SUBSCRIPTION_ID)
        self.expires_on = int(time.time()) + lifetime
        self.claims = access_token_claims(
            username=self.username, oid=self.oid, tenant_id=self.tenant_id, lifetime=lifetime
        )
        self.token = make_jwt(self.claims)
        self._write(logged_in=True)

    def add_tenant(self, tenant_id: str, *subscription_ids: str) -> None:
        """The user is also a member of ``tenant_id`` (holding these subscriptions)."""
        self.tenants.append(tenant_id)
        for sub in subscription_ids:
            self.subscription_tenants[sub] = tenant_id
        self._write(logged_in=True)

    def set_cloud(self, name: str) -> None:
        """`az cloud set --name <name>`: tokens are now that cloud's."""
        self.cloud = name
        self._write(logged_in=json.loads(self.state_path.read_text())["logged_in"])

    def logout(self) -> None:
        """`az logout`: the next call fails the way an unsigned-in CLI does."""
        self._write(logged_in=False)

    def calls(self) -> list[list[str]]:
        """argv of every `az` invocation so far."""
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line]

    def _write(self, *, logged_in: bool) -> None:
        state = {
            "logged_in": logged_in,
            "username": self.username,
            "oid": self.oid,
            "tenant": self.tenant_id,
            "subscription": self.subscription_id,
            "subscription_name": "Numerai Test Subscription",
            "expires_on": self.expires_on,
            "tokens": {"default": self.token},
            "claims": self.claims,
            "tenants": sorted({self.tenant_id, *self.tenants}),
            "subscription_tenants": {k.lower(): v for k, v in self.subscription_tenants.items()},
            "cloud": self.cloud,
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)
