"""Which certificate authorities HTTPS trusts: the operating system's, as browsers do.

requests (under azure-core, msal, numerapi and the docker SDK) trusts certifi's bundle,
not the OS store, so behind a TLS-inspecting corporate proxy, whose CA IT installed into
Windows' or macOS' store, every call fails with CERTIFICATE_VERIFY_FAILED. truststore
(what pip uses) makes Python's ``ssl`` verify with the OS: Windows' CryptoAPI, macOS'
Security framework, the system CA files on Linux. ``REQUESTS_CA_BUNDLE`` (or
``CURL_CA_BUNDLE``), when set, still wins: it is the user's explicit choice, and the
tests' own CA.
"""

from __future__ import annotations

import os

#: a bundle the user named: then requests uses that file and nothing is injected
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_injected = False


def use_os_trust_store() -> bool:
    """Verify every HTTPS connection of this process with the OS trust store, unless a CA
    bundle is named in the environment. Returns whether the OS store is in use."""
    global _injected
    if _injected:
        return True
    if any(os.environ.get(name) for name in CA_BUNDLE_ENV):
        return False
    try:
        import truststore
    except ImportError:  # pragma: no cover - a broken install: certifi as before
        return False
    truststore.inject_into_ssl()
    _injected = True
    return True


def restore() -> None:
    """Back to Python's own ``ssl`` (for tests that share one process)."""
    global _injected
    if _injected:
        import truststore

        truststore.extract_from_ssl()
        _injected = False
