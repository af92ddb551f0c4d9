"""Network failures read as words, not as urllib3's repr (issue 21, item 11)."""

from __future__ import annotations

import pytest

from numerai_aci_wizard.netreason import plain

DNS = (
    "<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve "
    "'login.microsoftonline.com' ([Errno -2] Name or service not known) "
    "HTTPSConnection(host='login.microsoftonline.com', port=443)"
)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (DNS, "could not look up login.microsoftonline.com (no network, or DNS is not working)"),
        ("[Errno 111] Connection refused", "the server refused the connection"),
        ("[Errno 101] Network is unreachable", "no network route to the server"),
        (
            "HTTPSConnectionPool(host='management.azure.com', port=443): Read timed out.",
            "management.azure.com did not answer in time",
        ),
        ("the resource group is locked", "the resource group is locked"),  # not a network error
    ],
)
def test_plain(raw: str, said: str) -> None:
    assert plain(raw) == said
    assert "Errno" not in plain(raw) and "HTTPSConnection" not in plain(raw)
