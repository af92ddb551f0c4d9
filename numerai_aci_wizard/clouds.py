"""The Azure clouds the tool can deploy to, and every endpoint that differs between them.

Pure data (no Azure import). A sovereign cloud differs in five places the tool touches:
where ARM lives, the token audience asked for, the sign-in authority, the URL and audience
the Logic App's managed-identity action calls (it runs inside Azure, so it needs the
cloud's real ARM whatever base URL the tool itself used), and the portal for deep links.
``arm_endpoint`` in the settings stays a plain base-URL override (a proxy or a test
server) and changes none of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AZURE_CLOUD = "AzureCloud"
AZURE_US_GOVERNMENT = "AzureUSGovernment"
AZURE_CHINA = "AzureChinaCloud"


@dataclass(frozen=True)
class Cloud:
    """One Azure cloud: the endpoints the tool talks to there."""

    name: str
    #: ARM's base URL, no trailing slash
    arm_endpoint: str
    #: the OAuth scope of an ARM token
    token_scope: str
    #: the sign-in authority host (azure-identity's ``authority``)
    authority_host: str
    #: the resource the Logic App's managed identity asks a token for (with the slash)
    msi_audience: str
    portal: str

    def action_url(self, path: str) -> str:
        """The URL the Logic App's Http action calls for an ARM ``path``."""
        return self.arm_endpoint + path


CLOUDS: dict[str, Cloud] = {
    AZURE_CLOUD: Cloud(
        AZURE_CLOUD,
        "https://management.azure.com",
        "https://management.azure.com/.default",
        "login.microsoftonline.com",
        "https://management.azure.com/",
        "https://portal.azure.com",
    ),
    AZURE_US_GOVERNMENT: Cloud(
        AZURE_US_GOVERNMENT,
        "https://management.usgovcloudapi.net",
        "https://management.usgovcloudapi.net/.default",
        "login.microsoftonline.us",
        "https://management.usgovcloudapi.net/",
        "https://portal.azure.us",
    ),
    AZURE_CHINA: Cloud(
        AZURE_CHINA,
        "https://management.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        "login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/",
        "https://portal.azure.cn",
    ),
}
CLOUD_NAMES = tuple(CLOUDS)

_TENANT = re.compile(
    r"^([0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|"
    r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$"
)


def cloud(name: str = "") -> Cloud:
    """The named cloud (empty: the public one). Unknown names are refused by check_cloud."""
    key = next((k for k in CLOUDS if k.lower() == name.strip().lower()), AZURE_CLOUD)
    return CLOUDS[key]


def check_cloud(value: str) -> str | None:
    v = value.strip()
    if not v or any(k.lower() == v.lower() for k in CLOUDS):
        return None
    return f"choose one of: {', '.join(CLOUD_NAMES)}"


def check_tenant_id(value: str) -> str | None:
    """A directory (tenant) id: a GUID or a domain such as contoso.onmicrosoft.com."""
    v = value.strip()
    if not v or _TENANT.match(v):
        return None
    return (
        "a tenant id is a GUID (Microsoft Entra ID > Overview > Tenant ID) or a domain such as "
        "contoso.onmicrosoft.com"
    )
