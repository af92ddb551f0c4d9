"""Bounds on what Azure Resource Manager's answers may make the tool do.

ARM's answers steer the SDK: an ``Azure-AsyncOperation`` or ``Location`` header says where
to poll, a ``nextLink`` where the next page is, a ``Retry-After`` how long to wait. A
broken or hostile server (or a wrong ``--arm-endpoint``) could send the token elsewhere,
keep a command waiting for an hour, or page for ever. Three guards, each with a clear
error at its end:

- :class:`HostBoundAuthentication`: the bearer token goes only to the endpoint's own host
  (the cloud's ARM, or the endpoint the user set); a URL on another host is refused
  before anything is sent there.
- :class:`RetryAfterCap`: a ``Retry-After`` above :data:`RETRY_AFTER_CAP` seconds is
  waited out only up to the cap, and the wait is said (the SDK's retries stay bounded).
- :func:`bounded_pages`: a list is read for at most :data:`MAX_PAGES` pages, and a
  ``nextLink`` that points back at a page already read stops it.

The per-request timeout is :data:`REQUEST_TIMEOUT` (``read_timeout`` of the transport).
azure-core is imported when these are built, not at import: the wizard starts without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ..events import ErrorCode, WizardError

#: the longest wait a Retry-After may ask for, in seconds, before the tool tries again
RETRY_AFTER_CAP = 30.0
#: how long one request to ARM may go without an answer, in seconds (then it is retried,
#: a bounded number of times, and fails with a clear error)
REQUEST_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
#: the most pages one list is read for (history reads a few runs: one or two pages)
MAX_PAGES = 50


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port made explicit for https/http."""
    parts = urlsplit(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class ForeignHost(WizardError):
    """ARM pointed a request (a poll, a next page) at another host than its own."""


def foreign_host_error(url: str, endpoint: str) -> ForeignHost:
    scheme, host, port = origin(url)
    shown = f"{scheme}://{host}" + (f":{port}" if port not in (None, 443, 80) else "")
    return ForeignHost(
        f"Azure Resource Manager ({endpoint}) pointed a follow-up request (an operation to "
        f"poll, or the next page of a list) at another host, {shown}: refused, your Azure "
        "token goes only to the endpoint you use",
        "if --arm-endpoint (or AZURE_RESOURCE_MANAGER_ENDPOINT, or arm_endpoint in the "
        "settings) names a proxy or a test server, check it; Azure's own answers never "
        "point elsewhere. Nothing was sent to that host.",
        code=ErrorCode.AZURE_REFUSED,
        upstream="ForeignHost",
    )


def host_bound_authentication(credential: Any, scopes: list[str], endpoint: str) -> Any:
    """An ARMChallengeAuthenticationPolicy that refuses to send a request (with or without
    the token) to any host but ``endpoint``'s. A cross-host *redirect* is the one
    exception: azure-core strips the token from it (SensitiveHeaderCleanupPolicy)."""
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    allowed = origin(endpoint)

    class HostBoundAuthentication(ARMChallengeAuthenticationPolicy):
        def send(self, request: Any) -> Any:
            url = request.http_request.url
            redirected = request.context.get("insecure_domain_change", False)
            if origin(url) != allowed and not redirected:
                raise foreign_host_error(url, endpoint)
            return super().send(request)

    return HostBoundAuthentication(credential, *scopes)


def retry_after_cap(say: Callable[[str], None], cap: float = RETRY_AFTER_CAP) -> Any:
    """A policy (in the custom-hook slot, inside the retry loop) that lowers a Retry-After
    above ``cap`` to ``cap`` before the retry policy or the LRO poller reads it, and says
    so through ``say`` (once per distinct request)."""
    from azure.core.pipeline.policies import CustomHookPolicy
    from azure.core.pipeline.policies._utils import get_retry_after

    class RetryAfterCap(CustomHookPolicy):  # type: ignore[type-arg]
        def on_response(self, request: Any, response: Any) -> None:
            super().on_response(request, response)
            try:
                asked = get_retry_after(response)
            except (ValueError, TypeError, OverflowError):  # an unreadable date: no wait
                asked = None
            if asked is None or asked <= cap:
                return
            headers = response.http_response.headers
            for name in ("retry-after-ms", "x-ms-retry-after-ms"):
                if name in headers:
                    del headers[name]
            headers["Retry-After"] = f"{cap:g}"
            status = response.http_response.status_code
            why = "throttled" if status == 429 else f"HTTP {status}"
            say(
                f"Azure asked to wait {_duration(asked)} before trying again ({why}): "
                f"waiting {cap:g} s instead, a bounded number of times"
            )

    return RetryAfterCap()


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def client_kwargs(
    credential: Any,
    scopes: list[str],
    endpoint: str,
    say: Callable[[str], None],
    *,
    cap: float = RETRY_AFTER_CAP,
    timeout: float = REQUEST_TIMEOUT,
) -> dict[str, Any]:
    """The keyword arguments every SDK client gets for these bounds."""
    return {
        "authentication_policy": host_bound_authentication(credential, scopes, endpoint),
        "custom_hook_policy": retry_after_cap(say, cap),
        "connection_timeout": min(CONNECT_TIMEOUT, timeout),
        "read_timeout": timeout,
    }


def bounded_pages(paged: Any, what: str, max_pages: int = MAX_PAGES) -> Iterator[Any]:
    """The items of an SDK ``ItemPaged``, page by page, stopping with a clear error when a
    ``nextLink`` points back at a page already read or the list goes on past ``max_pages``."""
    pages = paged.by_page()
    seen: set[str] = set()
    for count, page in enumerate(pages, start=1):
        yield from list(page)
        token = getattr(pages, "continuation_token", None)
        if not token:
            return
        if token in seen:
            raise WizardError(
                f"Azure's list ({what}) pointed back at a page it had already given: stopped "
                f"after {count} pages",
                "a fault on Azure's side (or of the endpoint you use); run again later",
                code=ErrorCode.AZURE_SERVER_ERROR,
                upstream="NextLinkLoop",
            )
        seen.add(str(token))
        if count >= max_pages:
            raise WizardError(
                f"Azure's list ({what}) goes on past {max_pages} pages: stopped there",
                "a fault on Azure's side (or of the endpoint you use); run again later",
                code=ErrorCode.AZURE_SERVER_ERROR,
                upstream="TooManyPages",
            )
