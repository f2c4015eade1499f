"""The analyst's page in headless Chromium (Debian's chromium driven by Playwright), against a real server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.service.live import start_server

CHROMIUM = Path(os.environ.get("REDFLAG_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
SCHEME = "【青藤优选】加入只需399元成为店主，每推荐一人奖励100元，三代以内团队业绩都有提成，躺赚不是梦！"
HARD_NEGATIVE = "Invite a friend to FreshCart and you both get a $10 coupon on your next order. No fees, no levels."


def _browser_or_skip():  # noqa: ANN202
    playwright = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed")
    return playwright


@pytest.fixture(scope="module")
def server(artifact_path: Path):  # noqa: ANN201
    proc, base = start_server(artifact_path)
    yield base
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_page_scores_and_highlights_evidence(server: str) -> None:
    pw = _browser_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    with pw.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 1300})
        page.goto(server + "/")
        page.get_by_label("文案 / Description").fill(SCHEME)
        page.get_by_label("文案 / Description").press("Control+Enter")
        page.wait_for_selector("#result:not([hidden])")
        page.wait_for_selector("#highlighted mark")
        level = page.inner_text("#risk-level")
        assert "high" in level or "medium" in level
        codes = page.eval_on_selector_all("#highlighted mark", "els => els.map(e => e.dataset.code)")
        assert "recruitment_rewards" in codes
        marked = "".join(
            page.eval_on_selector_all("#highlighted mark", "els => els.map(e => e.firstChild.textContent)")
        )
        assert "每推荐一人奖励100元" in marked
        assert "399" in page.inner_text("#facts")
        page.focus("#highlighted mark")
        assert page.is_visible("#highlighted mark:focus .tip")
        page.screenshot(path=str(ARTIFACTS / "page-scheme.png"), full_page=True)

        page.get_by_label("文案 / Description").fill(HARD_NEGATIVE)
        page.get_by_role("button", name="评估 Score").click()
        page.wait_for_function("document.querySelector('#risk-level').textContent.includes('low')")
        assert page.locator("#highlighted mark").count() == 0
        page.screenshot(path=str(ARTIFACTS / "page-negative.png"), full_page=True)
        browser.close()


def test_page_asks_for_a_key_when_the_service_needs_one(artifact_path: Path) -> None:
    pw = _browser_or_skip()
    proc, base = start_server(artifact_path, env={"REDFLAG_API_KEYS": "s3cret"})
    try:
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page()
            page.on("dialog", lambda d: d.accept("s3cret"))
            page.goto(base + "/")
            page.get_by_role("button", name="明显传销 Blatant").click()
            page.wait_for_selector("#highlighted mark")
            assert page.evaluate("sessionStorage.getItem('redflag-key')") == "s3cret"
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
