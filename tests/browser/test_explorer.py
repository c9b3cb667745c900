"""The GraphiQL explorer in headless Chromium: run a query, then watch a subscription event arrive.

Needs Debian's `chromium` (apt) and the `playwright` Python package (pip; its browser downloads
are never used) and the explorer assets (`python -m scripts.install_graphiql`). Each missing piece
skips the test with the reason.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.graphiql.assets import missing_assets
from tests.gateway.subscriptions.fixtures import BROKER
from tests.gateway.subscriptions.support import eventually, federated_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = REPO_ROOT / "var" / "graphiql"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp/explorer-screenshots"))


def _skip_reason() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install playwright)"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    missing = missing_assets(ASSETS_DIR)
    if missing:
        return f"GraphiQL assets are not installed in {ASSETS_DIR} (python -m scripts.install_graphiql)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")

QUERY = 'query TestOrder { order(id: "o1") { number payments { status } } }'
SUBSCRIPTION = (
    'subscription TestStatus { orderStatusChanged(orderId: "o1") { status order { number payments { status } } } }'
)

SET_QUERY = """text => {
  const editor = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
  editor.setValue(text);
}"""
RESPONSE = "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"


async def _response(page: Any) -> str:
    return str(await page.evaluate(RESPONSE))


async def _run(page: Any, operation: str, name: str) -> None:
    """Type an operation into the active tab and run it, once GraphiQL has parsed it (its debounced
    parse renames the tab; running earlier would send the previous operation name)."""
    await page.evaluate(SET_QUERY, operation)
    await page.wait_for_function(
        "name => [...document.querySelectorAll('.graphiql-tab-active, .graphiql-tab[aria-selected=true]')]"
        ".some(tab => tab.textContent.includes(name))",
        arg=name,
        timeout=20_000,
    )
    await page.click(".graphiql-execute-button")


async def test_explorer_runs_a_query_and_shows_subscription_events() -> None:
    from playwright.async_api import async_playwright

    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    async with federated_stack() as stack, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            await page.goto(stack.graphql_url)
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            # the shop's example operations are open as tabs
            tabs = await page.locator(".graphiql-tab").all_inner_texts()
            assert any("BrowseProducts" in t for t in tabs) and any("OrderStatus" in t for t in tabs), tabs

            await _run(page, QUERY, "TestOrder")
            await page.wait_for_function(
                "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
                ".includes('A-1001')",
                timeout=20_000,
            )
            assert '"CAPTURED"' in await _response(page)

            await _run(page, SUBSCRIPTION, "TestStatus")
            await eventually(lambda: BROKER.subscribers("order:o1") == 1, "the explorer's subscription", within=20)
            BROKER.publish("order:o1", {"eventId": 1, "status": "SHIPPED_BY_TEST"})
            await page.wait_for_function(
                "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
                ".includes('SHIPPED_BY_TEST')",
                timeout=20_000,
            )
            response = await _response(page)
            assert '"number": "A-1001"' in response and '"CAPTURED"' in response
            await page.screenshot(path=str(SCREENSHOTS / "explorer-subscription.png"))
            assert not [url for url in failed if not url.startswith(stack.base_url.replace("http", "ws"))], failed
        finally:
            await browser.close()
        await eventually(lambda: BROKER.subscribers("order:o1") == 0, "the subscription to end with the browser")
