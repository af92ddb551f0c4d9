"""Network failures in words a person can act on, from the text a library raised.

urllib3, requests, msal and the Azure SDK all report a dead network as their own
exception text (``HTTPSConnection(host='login.microsoftonline.com', port=443): Failed to
resolve ... [Errno -2] Name or service not known``). Shown as is, that tells a user
nothing; :func:`plain` turns it into "could not look up login.microsoftonline.com (no
network, or DNS is not working)". Pure: no imports beyond ``re``, used by every service
that turns an exception into a WizardError.
"""

from __future__ import annotations

import re

#: how the resolvers of Linux, macOS and Windows (and urllib3) say a name did not resolve
DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "temporary failure in name resolution",
    "failed to resolve",
    "no address associated",
)

#: (what the text contains, lower case) -> the reason, with {host} for the server's name
_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        (*DNS_FAILURES, "errno -2", "errno -3", "errno 11001"),
        "could not look up {host} (no network, or DNS is not working)",
    ),
    (("connection refused", "errno 111", "winerror 10061"), "{host} refused the connection"),
    (
        ("network is unreachable", "no route to host", "errno 101", "errno 113"),
        "no network route to {host}",
    ),
    (
        ("certificate verify failed", "certificate_verify_failed", "sslcertverificationerror"),
        "the TLS certificate of {host} is not trusted (behind a proxy: set REQUESTS_CA_BUNDLE)",
    ),
    (("timed out", "timeout"), "{host} did not answer in time"),
    (
        ("connection reset", "connection aborted", "remote end closed", "remotedisconnected"),
        "the connection to {host} was cut",
    ),
)
_HOST = re.compile(r"host='([^']+)'|https?://([^/:\s'\"]+)")


def host_of(text: str) -> str:
    """The server a library's text names (``host='x'`` or a URL), else ""."""
    found = _HOST.search(text)
    return (found.group(1) or found.group(2)) if found else ""


def network_reason(text: str, host: str = "") -> str:
    """The plain reason when ``text`` is a network failure, else ""."""
    low = text.lower()
    for needles, reason in _REASONS:
        if any(n in low for n in needles):
            return reason.format(host=host or host_of(text) or "the server")
    return ""


def plain(text: str, host: str = "") -> str:
    """``text`` as a person reads it: a network failure in words, anything else as it was."""
    return network_reason(text, host) or text
