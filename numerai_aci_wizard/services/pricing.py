"""What a prediction run costs, said before anything is deployed.

Numerai participants pay for the container only while it runs (ACI bills per second for
the vCPU and memory the group asks for), so the honest figure is "per run" and "per
month of rounds", not an hourly rate. Prices come from Azure's public, unauthenticated
Retail Prices API when it answers within a few seconds, cached per region for a week so
the wizard does not wait on every start; anything else (offline, a proxy, a slow or
changed API) falls back to a built-in table with its date, and the only trace of the
failure is the ``source``/``note`` text. The estimate must never block or fail a deploy.

Pure stdlib + platformdirs: this module is imported by the CLI and the TUI alike.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..dirs import APP_NAME
from ..engines import DEFAULT_REGION, Estimate, Prices
from ..events import ErrorCode, WizardError
from ..netreason import host_of, network_reason

if TYPE_CHECKING:
    import ssl


#: The public endpoint; ``url=`` or ``NUMERAI_ACI_PRICES_URL`` point elsewhere (tests, proxies).
PRICES_URL = "https://prices.azure.com/api/retail/prices"
ENV_URL = "NUMERAI_ACI_PRICES_URL"
#: Set to 1/true/yes to never ask the API (air-gapped machines, CI).
ENV_OFFLINE = "NUMERAI_ACI_OFFLINE_PRICES"

CACHE_TTL = timedelta(days=7)
#: A cold start pulls the image, downloads the live data, predicts and uploads.
DEFAULT_RUN_MINUTES = 15.0
#: Numerai opens a round every Tuesday to Saturday: 5 a week, 52 weeks, over 12 months.
RUNS_PER_MONTH = 5 * 52 / 12
#: Never follow more pages than this (the ACI answer for one region is one page today).
_MAX_PAGES = 20

SERVICE_NAME = "Container Instances"

#: When the built-in table's figures were read (Azure Retail Prices API, USD, Linux
#: "Standard" meters of service "Container Instances").
TABLE_DATE = "2026-10-09"

# Region -> (USD per vCPU-hour, USD per GB-hour, read from the API?).
# Read from the API: eastus "Standard vCPU Duration" 0.0405 per "1 Hour" and "Standard
# Memory Duration" 0.00445 per "1 GB Hour" (read 2026-08-27 and again 2026-10-09; Spot is
# 0.01215 / 0.001335 and is not what this tool deploys); swedencentral 0.0466 / 0.00511
# (read 2026-09-06, effectiveStartDate 2021-06-08). The other rows could not be read from
# here and are marked approximate: other US regions take the East US figures, European ones
# the Sweden Central figures (a published germanywestcentral sample quotes 0.04656 /
# 0.00511), Asia-Pacific and Brazil East US scaled by Azure's usual regional compute ratio
# (x1.3, x1.5). The live lookup replaces them whenever the API answers.
_TABLE: dict[str, tuple[float, float, bool]] = {
    "eastus": (0.0405, 0.00445, True),
    "eastus2": (0.0405, 0.00445, False),
    "centralus": (0.0405, 0.00445, False),
    "westus": (0.0405, 0.00445, False),
    "westus2": (0.0405, 0.00445, False),
    "westus3": (0.0405, 0.00445, False),
    "southcentralus": (0.0405, 0.00445, False),
    "northcentralus": (0.0405, 0.00445, False),
    "canadacentral": (0.0446, 0.0049, False),
    "swedencentral": (0.0466, 0.00511, True),
    "northeurope": (0.0466, 0.00511, False),
    "westeurope": (0.0466, 0.00511, False),
    "germanywestcentral": (0.0466, 0.00511, False),
    "francecentral": (0.0466, 0.00511, False),
    "uksouth": (0.0466, 0.00511, False),
    "japaneast": (0.0527, 0.00579, False),
    "australiaeast": (0.0527, 0.00579, False),
    "southeastasia": (0.0527, 0.00579, False),
    "eastasia": (0.0527, 0.00579, False),
    "centralindia": (0.0446, 0.0049, False),
    "brazilsouth": (0.0608, 0.00668, False),
}

_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# Rows that are not what this tool deploys: a Linux, standard, on-demand container group.
_EXCLUDED_WORDS = ("windows", "spot", "gpu", "confidential", "k80", "p100", "v100", "dedicated")


def get_prices(
    location: str,
    *,
    lookup: bool = True,
    timeout: float = 3.0,
    url: str | None = None,
    cache_dir: Path | None = None,
    now: datetime | None = None,
) -> Prices:
    """Live prices when allowed and reachable within ``timeout`` seconds (all pages
    together), a cached lookup younger than a week, else the built-in table. Never raises
    for network or API trouble: an estimate is advice, not a step that can fail."""
    region = normalize_region(location)
    now = _utc(now or datetime.now(UTC))
    if not lookup or _offline_by_env():
        return _from_table(region, "price lookup is off")
    endpoint = url or os.environ.get(ENV_URL) or PRICES_URL
    cache_file = (cache_dir or _default_cache_dir()) / f"prices-{_safe(region)}.json"
    cached = _read_cache(cache_file, region, endpoint, now)
    if cached is not None:
        return cached
    from http.client import HTTPException  # here, not at import: CLI start-up stays light

    try:
        vcpu, gb, currency = _fetch(endpoint, region, timeout)
    except _LookupFailed as exc:
        return _from_table(region, f"price lookup failed: {exc}")
    except (OSError, ValueError, HTTPException) as exc:
        return _from_table(region, f"price lookup failed: {_describe(exc, host_of(endpoint))}")
    _write_cache(cache_file, region, endpoint, now, vcpu, gb, currency)
    return _live(region, vcpu, gb, currency, now)


def regions() -> list[str]:
    """Regions the built-in price table knows (offered before Azure lists them)."""
    return sorted(_TABLE)


def estimate(
    location: str,
    cpu: float,
    memory_gb: float,
    *,
    run_minutes: float = DEFAULT_RUN_MINUTES,
    lookup: bool = True,
    runs_per_month: float = RUNS_PER_MONTH,
    **kw: Any,
) -> Estimate:
    """Cost of ``run_minutes`` at ``cpu`` vCPU and ``memory_gb`` GB, per run and per month.

    ``kw`` goes to :func:`get_prices` (timeout, url, cache_dir, now)."""
    for name, value in (("CPU", cpu), ("memory", memory_gb), ("run length", run_minutes)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise WizardError(
                f"Cannot estimate the cost: the {name} must be a positive number, not {value!r}.",
                "Give the container's CPU (e.g. 1), memory in GB (e.g. 2.5) and how many "
                "minutes a run takes (e.g. 15).",
                exit_code=2,
                code=ErrorCode.BAD_ESTIMATE_INPUT,
            )
    prices = get_prices(location, lookup=lookup, **kw)
    seconds = run_minutes * 60
    per_run = (cpu * prices.vcpu_per_second + memory_gb * prices.gb_per_second) * seconds
    return Estimate(
        prices=prices,
        cpu=float(cpu),
        memory_gb=float(memory_gb),
        run_minutes=float(run_minutes),
        runs_per_month=runs_per_month,
        per_run=per_run,
        per_month=per_run * runs_per_month,
    )


def normalize_region(location: str) -> str:
    """ARM region name from what a user may type: "West Europe" -> "westeurope"."""
    return re.sub(r"[\s_-]+", "", (location or "").strip().lower()) or DEFAULT_REGION


def per_second(price: float, unit_of_measure: str) -> float:
    """Normalise a retail price to one unit-second: "1 Hour", "1 GB Hour", "100 Seconds",
    "100 GB Seconds", "1/Hour", "10 Minutes"... Raises ValueError for anything else."""
    m = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?)?\s*/?\s*(?:gib|gb)?\s*(second|minute|hour|day)s?\s*",
        unit_of_measure or "",
        flags=re.IGNORECASE,
    )
    if m is None:
        raise ValueError(f"unknown unit of measure {unit_of_measure!r}")
    quantity = float(m.group(1) or 1)
    if quantity <= 0:
        raise ValueError(f"unknown unit of measure {unit_of_measure!r}")
    return price / (quantity * _SECONDS[m.group(2).lower()])


# --- the lookup -------------------------------------------------------------------------


class _LookupFailed(Exception):
    """The API answered, but not with what an estimate needs."""


def _fetch(endpoint: str, region: str, timeout: float) -> tuple[float, float, str]:
    import urllib.parse
    import urllib.request

    odata = (
        f"serviceName eq '{SERVICE_NAME}' and armRegionName eq '{region}' "
        "and priceType eq 'Consumption'"
    )
    sep = "&" if urllib.parse.urlsplit(endpoint).query else "?"
    next_url: str | None = f"{endpoint}{sep}{urllib.parse.urlencode({'$filter': odata})}"
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    currency = ""
    pages = 0
    while next_url:
        pages += 1
        if pages > _MAX_PAGES:
            raise _LookupFailed(f"more than {_MAX_PAGES} pages")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _LookupFailed("timed out")
        request = urllib.request.Request(
            next_url, headers={"Accept": "application/json", "User-Agent": APP_NAME}
        )
        with urllib.request.urlopen(request, timeout=remaining, context=_tls()) as response:
            body = json.loads(response.read().decode("utf-8"))
        if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
            raise _LookupFailed("unexpected answer: no Items list")
        items.extend(i for i in body["Items"] if isinstance(i, dict))
        currency = currency or str(body.get("BillingCurrency") or "")
        link = body.get("NextPageLink")
        next_url = link if isinstance(link, str) and link else None
    return _pick(items, region, currency)


def _tls() -> ssl.SSLContext:
    """Trust what the rest of the tool trusts: ``REQUESTS_CA_BUNDLE`` (a TLS-inspecting
    proxy's CA, a test CA) when set, else the system store."""
    import ssl

    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or None
    return ssl.create_default_context(cafile=bundle)


def _pick(items: list[dict[str, Any]], region: str, currency: str) -> tuple[float, float, str]:
    """The Linux, standard, on-demand vCPU and memory rates among a region's rows."""
    best: dict[str, tuple[str, float, str]] = {}  # kind -> (effectiveStartDate, rate, currency)
    for item in items:
        if item.get("armRegionName", region) != region:
            continue
        if item.get("serviceName", SERVICE_NAME) != SERVICE_NAME:
            continue
        if item.get("type", "Consumption") != "Consumption":
            continue
        if float(item.get("tierMinimumUnits") or 0) > 0:
            continue
        words = " ".join(
            str(item.get(k) or "") for k in ("productName", "skuName", "meterName")
        ).lower()
        if any(w in words for w in _EXCLUDED_WORDS):
            continue
        meter = str(item.get("meterName") or "").lower()
        if meter.endswith("vcpu duration"):
            kind = "vcpu"
        elif meter.endswith("memory duration"):
            kind = "memory"
        else:
            continue
        price = item.get("retailPrice", item.get("unitPrice"))
        if isinstance(price, bool) or not isinstance(price, int | float):
            raise _LookupFailed(f"unexpected answer: price {price!r}")
        rate = per_second(float(price), str(item.get("unitOfMeasure") or ""))
        if not math.isfinite(rate) or rate <= 0:
            raise _LookupFailed(f"unexpected answer: price {price!r}")
        started = str(item.get("effectiveStartDate") or "")
        if kind not in best or started > best[kind][0]:
            best[kind] = (started, rate, str(item.get("currencyCode") or currency or "USD"))
    if "vcpu" not in best or "memory" not in best:
        raise _LookupFailed(f"no Linux vCPU and memory prices for region '{region}'")
    return best["vcpu"][1], best["memory"][1], best["vcpu"][2]


def _describe(exc: BaseException, host: str = "prices.azure.com") -> str:
    """A short reason for the note: no URLs, no stack, nothing a user cannot act on."""
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, TimeoutError) or "timed out" in str(exc):
        return f"{host} did not answer in time"
    if isinstance(exc, OSError) and (reason := network_reason(str(exc), host)):
        return reason
    if isinstance(exc, urllib.error.URLError):
        return network_reason(str(exc.reason), host) or f"{host} is unreachable"
    if isinstance(exc, json.JSONDecodeError):
        return "the answer was not JSON"
    if isinstance(exc, ValueError):
        return f"unexpected answer: {exc}"
    return type(exc).__name__


# --- table, cache -----------------------------------------------------------------------


def _from_table(region: str, why: str) -> Prices:
    row = _TABLE.get(region)
    exact = row is not None
    vcpu_hour, gb_hour, read = row if row is not None else _TABLE[DEFAULT_REGION]
    notes = [why]
    if exact and not read:
        notes.append(f"the built-in {region} row is approximate")
    return Prices(
        vcpu_per_second=vcpu_hour / 3600,
        gb_per_second=gb_hour / 3600,
        currency="USD",
        source=f"built-in table of {TABLE_DATE}",
        region=region,
        exact_region=exact,
        note="; ".join(notes),
    )


def _live(region: str, vcpu: float, gb: float, currency: str, fetched: datetime) -> Prices:
    return Prices(
        vcpu_per_second=vcpu,
        gb_per_second=gb,
        currency=currency,
        source=f"Azure Retail Prices API, {fetched.date().isoformat()}",
        region=region,
        exact_region=True,
    )


def _default_cache_dir() -> Path:
    from ..dirs import cache_dir

    return cache_dir()


def _read_cache(path: Path, region: str, endpoint: str, now: datetime) -> Prices | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("region") != region or data.get("url") != endpoint:
            return None
        fetched = _utc(datetime.fromisoformat(data["fetched_at"]))
        if not (timedelta(0) <= now - fetched < CACHE_TTL):
            return None
        vcpu, gb = float(data["vcpu_per_second"]), float(data["gb_per_second"])
        if not (vcpu > 0 and gb > 0 and math.isfinite(vcpu + gb)):
            return None
        return _live(region, vcpu, gb, str(data.get("currency") or "USD"), fetched)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(
    path: Path, region: str, endpoint: str, now: datetime, vcpu: float, gb: float, currency: str
) -> None:
    """Atomic write; a read-only or full disk only costs the next lookup."""
    data = {
        "region": region,
        "url": endpoint,
        "fetched_at": now.isoformat(),
        "vcpu_per_second": vcpu,
        "gb_per_second": gb,
        "currency": currency,
    }
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".prices-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _offline_by_env() -> bool:
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


def _safe(region: str) -> str:
    return re.sub(r"[^a-z0-9]", "_", region)[:64] or DEFAULT_REGION


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
