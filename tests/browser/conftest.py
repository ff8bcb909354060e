"""Playwright driving Debian's Chromium against the live test server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("YINGSHANG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):  # type: ignore[no-untyped-def]
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (install Debian's chromium; run through `make test`)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-CN"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(locale="zh-CN", accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    pg.base = live_server.url  # type: ignore[attr-defined]
    yield pg
    ctx.close()


@pytest.fixture
def phone_page(browser, live_server):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    pg.base = live_server.url  # type: ignore[attr-defined]
    yield pg
    ctx.close()


def shot(pg, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(pg, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(pg.base + "/login/")
    pg.fill("#username", username)
    pg.fill("#password", password)
    pg.click("button[type=submit]")
    pg.wait_for_load_state("networkidle")


def no_sideways_scroll(pg) -> None:  # type: ignore[no-untyped-def]
    """A phone page must not scroll sideways."""
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{pg.url} is {width}px wide on a {PHONE['width']}px phone"


@pytest.fixture
def policy_facts():  # type: ignore[no-untyped-def]
    """The policy and credit facts registered (a unit-test module may have replaced them) and no cached
    registry, before and after."""
    from yingshang.policies import matching
    from yingshang.policies.apps import register_facts
    from yingshang.supervision.apps import register_facts as register_credit_facts

    register_facts()
    register_credit_facts()
    matching.drop_registry_cache()
    yield
    matching.drop_registry_cache()

