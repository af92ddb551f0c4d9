"""The cost estimate against a local Retail Prices API stand-in (tests/fixtures/prices_server.py).

What a user notices: the figures shown before deploy, where they say the prices came
from, that a slow or broken API never holds the wizard up or breaks it, and that
turning the lookup off means no request leaves the machine.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from numerai_aci_wizard.events import WizardError
from numerai_aci_wizard.services import pricing
from tests.fixtures.prices_server import LIVE_RATES, PricesServer

NOW = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
TABLE_EASTUS = (0.0405 / 3600, 0.00445 / 3600)


def _get(server: PricesServer, region: str, tmp_path: Path, **kw) -> pricing.Prices:
    kw.setdefault("now", NOW)
    kw.setdefault("cache_dir", tmp_path / "cache")
    return pricing.get_prices(region, url=server.url, **kw)


def _filter_of(target: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)["$filter"][0]


def test_live_prices_follow_pages_and_skip_spot_windows_gpu_rows(
    prices_server: PricesServer, tmp_path: Path
) -> None:
    prices = _get(prices_server, "eastus", tmp_path)

    vcpu_hour, gb_hour = LIVE_RATES["eastus"]
    assert prices.vcpu_per_second == pytest.approx(vcpu_hour / 3600)
    assert prices.gb_per_second == pytest.approx(gb_hour / 3600)
    assert prices.currency == "USD"
    assert prices.source == "Azure Retail Prices API, 2026-11-29"
    assert prices.region == "eastus" and prices.exact_region
    assert prices.note == ""
    # Two pages: the Linux standard rows sit on the second one.
    assert len(prices_server.requests) == 2
    assert "$skip=6" in urllib.parse.unquote(prices_server.requests[1])
    assert _filter_of(prices_server.requests[0]) == (
        "serviceName eq 'Container Instances' and armRegionName eq 'eastus' "
        "and priceType eq 'Consumption'"
    )


def test_per_second_units_are_normalised(prices_server: PricesServer, tmp_path: Path) -> None:
    """japaneast is served as "100 Seconds" / "100 GB Seconds": same money per hour."""
    prices = _get(prices_server, "japaneast", tmp_path)
    vcpu_hour, gb_hour = LIVE_RATES["japaneast"]
    assert prices.vcpu_per_second * 3600 == pytest.approx(vcpu_hour)
    assert prices.gb_per_second * 3600 == pytest.approx(gb_hour)


def test_display_name_is_accepted(prices_server: PricesServer, tmp_path: Path) -> None:
    prices = _get(prices_server, "West Europe", tmp_path)
    assert prices.region == "westeurope"
    assert prices.vcpu_per_second * 3600 == pytest.approx(LIVE_RATES["westeurope"][0])
    assert "armRegionName eq 'westeurope'" in _filter_of(prices_server.requests[0])


def test_lookup_is_cached_for_a_week(prices_server: PricesServer, tmp_path: Path) -> None:
    first = _get(prices_server, "eastus", tmp_path)
    asked = len(prices_server.requests)

    again = _get(prices_server, "eastus", tmp_path, now=NOW + timedelta(days=6))
    assert again == first  # the date shown is the day it was fetched
    assert len(prices_server.requests) == asked
    assert (tmp_path / "cache" / "prices-eastus.json").is_file()

    stale = _get(prices_server, "eastus", tmp_path, now=NOW + timedelta(days=8))
    assert len(prices_server.requests) > asked
    assert stale.source == "Azure Retail Prices API, 2026-12-07"


def test_cache_is_per_region_and_per_endpoint(prices_server: PricesServer, tmp_path: Path) -> None:
    _get(prices_server, "eastus", tmp_path)
    asked = len(prices_server.requests)
    _get(prices_server, "westeurope", tmp_path)
    assert len(prices_server.requests) > asked

    # A cache filled from another endpoint is not trusted for this one.
    other = pricing.get_prices(
        "eastus", url="http://127.0.0.1:9/none", cache_dir=tmp_path / "cache", now=NOW
    )
    assert other.source.startswith("built-in table of ")


def test_default_cache_lives_in_the_tools_cache_dir(
    prices_server: PricesServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pricing.get_prices("eastus", url=prices_server.url, now=NOW)
    home = Path(os.environ["NUMERAI_ACI_HOME"])
    assert (home / "cache" / "prices-eastus.json").is_file()


def test_a_corrupt_cache_is_ignored(prices_server: PricesServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "prices-eastus.json").write_text("{not json")
    prices = _get(prices_server, "eastus", tmp_path)
    assert prices.source.startswith("Azure Retail Prices API")
    assert prices_server.requests


def test_a_slow_api_gives_the_table_without_waiting(
    prices_server: PricesServer, tmp_path: Path
) -> None:
    prices_server.mode = "slow"
    prices = _get(prices_server, "eastus", tmp_path, timeout=0.3)

    assert prices.source == f"built-in table of {pricing.TABLE_DATE}"
    assert (prices.vcpu_per_second, prices.gb_per_second) == pytest.approx(TABLE_EASTUS)
    assert "127.0.0.1 did not answer in time" in prices.note
    # The server is still holding its answer: we did not wait for it.
    assert prices_server.requests and prices_server.answered == 0


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("http500", "HTTP 500"), ("bad_json", "not JSON"), ("no_items", "unexpected answer")],
)
def test_a_broken_api_gives_the_table(
    prices_server: PricesServer, tmp_path: Path, mode: str, reason: str
) -> None:
    prices_server.mode = mode
    prices = _get(prices_server, "eastus", tmp_path)
    assert prices.source == f"built-in table of {pricing.TABLE_DATE}"
    assert (prices.vcpu_per_second, prices.gb_per_second) == pytest.approx(TABLE_EASTUS)
    assert reason in prices.note

    # A failure is not cached: once the API is back, the next call asks it again.
    prices_server.mode = "ok"
    assert _get(prices_server, "eastus", tmp_path).source.startswith("Azure Retail Prices API")


def test_an_unreachable_api_gives_the_table(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    prices = pricing.get_prices(
        "eastus", url=f"http://127.0.0.1:{port}/api/retail/prices", cache_dir=tmp_path, now=NOW
    )
    assert prices.source.startswith("built-in table of ")
    assert "price lookup failed: 127.0.0.1 refused the connection" in prices.note
    assert "Errno" not in prices.note  # words, not the socket's repr (issue 21)


def test_lookup_off_sends_nothing(
    prices_server: PricesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = _get(prices_server, "eastus", tmp_path, lookup=False)
    assert off.source == f"built-in table of {pricing.TABLE_DATE}"
    assert "lookup is off" in off.note

    monkeypatch.setenv("NUMERAI_ACI_OFFLINE_PRICES", "1")
    by_env = _get(prices_server, "eastus", tmp_path)
    assert by_env.source.startswith("built-in table of ")
    est = pricing.estimate("eastus", 1, 2, url=prices_server.url, cache_dir=tmp_path)
    assert est.prices.source.startswith("built-in table of ")

    assert prices_server.requests == []


def test_the_url_can_come_from_the_environment(
    prices_server: PricesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUMERAI_ACI_PRICES_URL", prices_server.url)
    prices = pricing.get_prices("eastus", cache_dir=tmp_path, now=NOW)
    assert prices.source.startswith("Azure Retail Prices API")
    assert prices_server.requests


def test_unknown_region_uses_the_default_row_and_says_so(
    prices_server: PricesServer, tmp_path: Path
) -> None:
    # The API has no ACI rows for it; neither has the table.
    prices = _get(prices_server, "marsnorth", tmp_path)
    assert prices_server.requests
    assert prices.region == "marsnorth"
    assert not prices.exact_region
    assert (prices.vcpu_per_second, prices.gb_per_second) == pytest.approx(TABLE_EASTUS)

    est = pricing.estimate("marsnorth", 1, 2, lookup=False)
    assert not est.prices.exact_region
    assert any("no built-in price for region 'marsnorth'" in line for line in est.lines())


def test_known_region_in_the_table_is_exact_offline() -> None:
    prices = pricing.get_prices("swedencentral", lookup=False)
    assert prices.exact_region
    assert prices.vcpu_per_second * 3600 == pytest.approx(0.0466)
    approx = pricing.get_prices("westeurope", lookup=False)
    assert approx.exact_region and "approximate" in approx.note


def test_estimate_arithmetic_and_lines_for_a_known_size() -> None:
    est = pricing.estimate("eastus", 1, 2, run_minutes=10, lookup=False)

    # (1 x 0.0405 + 2 x 0.00445) $/h for 10 minutes, 5 rounds a week.
    assert est.per_run == pytest.approx((0.0405 + 2 * 0.00445) / 6)
    assert est.runs_per_month == pytest.approx(21.6667, abs=1e-4)
    assert est.per_month == pytest.approx(est.per_run * 260 / 12)
    assert (est.cpu, est.memory_gb, est.run_minutes) == (1, 2, 10)

    lines = est.lines()
    assert lines[0] == (
        "about $0.008 per run (1 vCPU, 2 GB, 10 min), $0.18 a month for about 22 rounds "
        "(Tuesday to Saturday)"
    )
    assert f"source: built-in table of {pricing.TABLE_DATE}" in lines[1]
    assert lines[1].startswith("prices for eastus: $0.0405 per vCPU-hour, $0.00445 per GB-hour;")
    assert any("lookup is off" in line for line in lines)
    assert any("Logic App" in line and "fraction of a cent" in line for line in lines)
    assert not any("no built-in price" in line for line in lines)


def test_estimate_with_live_prices_and_default_run_length(
    prices_server: PricesServer, tmp_path: Path
) -> None:
    est = pricing.estimate("eastus", 2, 4.5, url=prices_server.url, cache_dir=tmp_path, now=NOW)
    vcpu_hour, gb_hour = LIVE_RATES["eastus"]
    assert est.run_minutes == pricing.DEFAULT_RUN_MINUTES == 15
    assert est.per_run == pytest.approx((2 * vcpu_hour + 4.5 * gb_hour) / 4)
    assert "source: Azure Retail Prices API, 2026-11-29" in est.lines()[1]
    assert "(2 vCPU, 4.5 GB, 15 min)" in est.lines()[0]


@pytest.mark.parametrize(
    ("cpu", "memory", "minutes"), [(0, 2, 15), (1, -1, 15), (1, 2, 0), (1, 2, float("nan"))]
)
def test_estimate_rejects_nonsense(cpu: float, memory: float, minutes: float) -> None:
    with pytest.raises(WizardError) as err:
        pricing.estimate("eastus", cpu, memory, run_minutes=minutes, lookup=False)
    assert err.value.exit_code == 2
    assert "positive number" in err.value.message and err.value.hint


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("1 Hour", 3.6 / 3600),
        ("1 GB Hour", 3.6 / 3600),
        ("1/Hour", 3.6 / 3600),
        ("100 Seconds", 3.6 / 100),
        ("100 GB Seconds", 3.6 / 100),
        ("1 Second", 3.6),
        ("10 Minutes", 3.6 / 600),
    ],
)
def test_units_normalise_to_per_second(unit: str, expected: float) -> None:
    assert pricing.per_second(3.6, unit) == pytest.approx(expected)


@pytest.mark.parametrize("unit", ["1 GB/Month", "10K", "", "0 Hours"])
def test_unknown_units_are_refused(unit: str) -> None:
    with pytest.raises(ValueError):
        pricing.per_second(1.0, unit)


def test_money_formatting_in_other_currencies() -> None:
    prices = pricing.Prices(0.00002, 0.000002, "EUR", "test", "westeurope", True)
    est = pricing.Estimate(prices, 1, 1, 60, 21.7, 0.0792, 1.72)
    assert est.lines()[0].startswith("about 0.08 EUR per run")


def test_https_trusts_the_ca_bundle_the_tool_uses(
    prices_server_https: PricesServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    untrusted = _get(prices_server_https, "eastus", tmp_path)
    assert untrusted.source.startswith("built-in table of ")
    assert "the TLS certificate of 127.0.0.1 is not trusted" in untrusted.note

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", prices_server_https.ca_file)
    trusted = _get(prices_server_https, "eastus", tmp_path)
    assert trusted.source == "Azure Retail Prices API, 2026-11-29", trusted.note
    assert trusted.vcpu_per_second * 3600 == pytest.approx(LIVE_RATES["eastus"][0])


def test_several_models_are_served_by_one_run_and_the_estimate_says_so() -> None:
    prices = pricing.Prices(0.00002, 0.000002, "USD", "test", "eastus", True)
    est = pricing.Estimate(prices, 1, 1, 60, 21.7, 0.0792, 1.72)
    one, five = est.lines(), est.lines(models=5)
    assert five[0] == one[0]  # the same run, the same cost
    assert five[1].startswith("one run a round serves all 5 models")
    assert len(five) == len(one) + 1 and not any("models" in line for line in one)
