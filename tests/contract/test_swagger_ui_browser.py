"""/docs in a real browser: headless Chromium, driven by Playwright, renders the operations
with no internet access.

The browser may reach the service only: any other request is aborted, so a page that still
loads an asset from a CDN renders nothing and fails. CI installs Chromium (.ci/run) and fails
without it; elsewhere the test is skipped, saying how to install it.
"""

import pytest
from playwright.async_api import async_playwright, expect
from tests.fixtures.chromium import chromium_or_skip

# Swagger UI fetches and renders a document of some 170 operations: generous on 2 cores.
RENDER_TIMEOUT_MS = 60_000


@pytest.mark.timeout(240)
@pytest.mark.parametrize("path", ["/docs", "/api/docs/"])
async def test_swagger_ui_renders_the_operations_offline(contract_server: str, path: str) -> None:
    chromium = chromium_or_skip()
    outside: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            origin = contract_server + "/"

            async def refuse(route: object) -> None:
                outside.append(route.request.url)  # type: ignore[attr-defined]
                await route.abort("blockedbyclient")  # type: ignore[attr-defined]

            await page.route(lambda url: not url.startswith(origin), refuse)
            await page.goto(contract_server + path)
            tags = page.locator(".opblock-tag")
            # Every tag listed, collapsed; the compatibility paths a tag of their own.
            await expect(page.locator('[data-tag="WBSync compatibility"]')).to_have_count(
                1, timeout=RENDER_TIMEOUT_MS
            )
            assert await tags.count() > 15
            await expect(page.locator(".info")).to_contain_text("Idempotency")
            # A tag opens to its operations: both methods of the freelancers collection.
            await page.locator('[data-tag="Freelancers"]').click()
            await expect(page.locator('[data-path="/v1/freelancers"]')).to_have_count(2)
            await page.locator('[data-tag="Company"]').click()
            await expect(page.locator(".opblock-summary-path__deprecated").first).to_be_visible()
        finally:
            await browser.close()
    assert outside == [], outside
