"""The usage dashboard in a real browser (Debian's headless Chromium): the page the local runner
serves, against the ledger filled by real traffic, shows the numbers the traffic produced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver

from llm_gateway.local import LocalGateway
from tests.conftest import eventually
from tools.dashboard_shot import ATTACKS, QUESTIONS, chromium, figures, send_traffic, show_usage, table


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def usage(gateway: LocalGateway, key: str, **dates: str) -> dict[str, Any]:
    reply = httpx.get(f"{gateway.url}/v1/billing/usage", headers={"Authorization": f"Bearer {key}"},
                      params=dates, timeout=10)
    return dict(reply.json())


def dollars(value: float) -> str:
    return f"${value:,.4f}" if 0 < abs(value) < 1 else f"${value:,.2f}"


def test_the_page_shows_what_the_traffic_did(gateway: LocalGateway, browser: webdriver.Chrome) -> None:
    key, _ = gateway.keys().create("t_dashboard", "dashboard")
    statuses = send_traffic(gateway, key)
    sent = len(QUESTIONS) + 2 + len(ATTACKS)
    assert len(statuses) == sent and statuses.count(400) == len(ATTACKS), statuses
    assert eventually(lambda: usage(gateway, key)["totals"]["requests"] == sent), "the ledger missed some"

    assert gateway.dashboard_url and show_usage(browser, gateway.dashboard_url, key) == "ready"
    shown_range = {name: str(browser.find_element("id", name).get_attribute("value")) for name in ("from", "to")}
    report = usage(gateway, key, **shown_range)  # the range the page chose (the last 30 days)
    totals = report["totals"]
    assert len(report["days"]) == 30
    shown = figures(browser)
    assert shown["requests"] == str(sent)
    assert shown["cache_hits"] == "2" and shown["cache_hit_rate"] == f"{2 / sent:.0%}"
    assert shown["guardrail_blocks"] == str(len(ATTACKS))
    assert shown["success_rate"] == f"{(sent - len(ATTACKS)) / sent:.0%}"
    assert shown["cost_usd"] == dollars(totals["cost_usd"]) and totals["cost_usd"] > 0
    assert shown["saved_usd"] == dollars(totals["saved_usd"]) and totals["saved_usd"] > 0
    assert shown["tokens"] == f"{totals['prompt_tokens'] + totals['completion_tokens']:,}"

    assert table(browser, "blocks") == [["prompt injection", str(len(ATTACKS)), ""]]
    models = {row[0]: row for row in table(browser, "models")}
    assert models["no model call"][1] == str(len(ATTACKS))
    for model in report["models"]:
        name = "no model call" if model["model"] == "(none)" else model["model"]
        assert models[name][1:4] == [str(model["requests"]),
                                     f"{model['prompt_tokens'] + model['completion_tokens']:,}",
                                     dollars(model["cost_usd"])]
    bars = browser.find_elements("css selector", "#per-day g[data-requests]")
    assert len(bars) == len(report["days"]) and sum(int(str(b.get_attribute("data-requests"))) for b in bars) == sent
    # The page ran under its Content-Security-Policy without a violation or a script error.
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []  # type: ignore[no-untyped-call]


def test_a_bad_key_shows_the_gateways_error(gateway: LocalGateway, browser: webdriver.Chrome) -> None:
    browser.execute_script("sessionStorage.clear()")
    assert gateway.dashboard_url and show_usage(browser, gateway.dashboard_url, "sk-gw-not-a-real-key") == "error"
    assert "401" in browser.find_element("id", "status").text
    assert not browser.find_element("id", "report").is_displayed()
