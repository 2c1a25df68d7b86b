"""The dashboard in a real browser: the machine's headless Chromium driven by Playwright.

One live server (the service as a uvicorn process on the test run's database) and one browser
per module; each test gets a fresh browser context (its own cookies) and makes its own
organization and users with the factories, through the in-process `app` on the same database.
The browser may reach the live server only: any other request is aborted, so a page that
needs the internet breaks here.
"""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from tests.factories.tenants import Tenant
from tests.factories.users import create_user
from tests.fixtures.chromium import chromium_or_skip
from tests.fixtures.live_server import ServerProcess, serving

from worksible_api.config import Settings
from worksible_api.domains.users.schemas import Role
from worksible_api.models import User

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Generous for a shared two-core machine; a test waits on what it expects, never a fixed time.
ACTION_TIMEOUT_MS = 15_000
expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def chromium() -> str:
    return chromium_or_skip()


@pytest.fixture(scope="module")
def live_server(chromium: str, settings: Settings) -> Iterator[ServerProcess]:
    with serving(settings) as server:
        yield server


@pytest.fixture(scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, live_server: ServerProcess) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=live_server.url,
        accept_downloads=True,
        # Far from UTC, and not by whole hours: the dashboard shows UTC whatever the zone.
        timezone_id="Asia/Kolkata",
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    origin = live_server.url + "/"
    await context.route(
        lambda url: not url.startswith(origin), lambda route: route.abort("blockedbyclient")
    )
    yield context
    await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
async def owner(app: FastAPI, tenant: Tenant) -> User:
    """An owner of `tenant`'s organization (fresh for each test), password set."""
    return (await create_user(app, tenant.organization, role=Role.OWNER))[0]


@pytest.fixture
async def api(live_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the live server's API, as a customer's integration calls it."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10.0) as client:
        yield client
