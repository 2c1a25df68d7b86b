"""The dashboard as people use it (API.md §14), in a real browser against the live service.

The HTTP-level tests (tests/domains/dashboard) cover the rules; these click through the pages:
labels, buttons, the htmx-enhanced filters, the charts, downloads, and that a page loads
nothing from outside the service.
"""

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import BrowserContext, Locator, Page, expect
from tests.factories.api_keys import bearer
from tests.factories.tenants import Tenant
from tests.factories.users import PASSWORD, create_user
from tests.fixtures.live_server import ServerProcess

from worksible_api.domains.users.schemas import Role
from worksible_api.models import User

pytestmark = pytest.mark.browser

HOME = "/dashboard/"
SETTINGS = "/dashboard/settings/api"
LOGS = "/dashboard/logs"
# API.md §8: a call made with a key is listed within 5 seconds.
LISTED_WITHIN_S = 5.0
P95_COLOUR = "#6a1b9a"  # the p95 line of the latency chart (static/dashboard/app.js)


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/dashboard/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def signed_in(page: Page, user: User) -> None:
    await sign_in(page, user.email)
    await expect(page).to_have_url(re.compile(r"/dashboard/$"))


async def open_token_form(page: Page) -> Locator:
    await page.goto(SETTINGS)
    await page.locator("summary", has_text="Generate token").click()
    form = page.locator(f'form[action="{SETTINGS}/keys"]')
    await expect(form).to_be_visible()
    return form


async def generate_token(page: Page, name: str, scopes: list[str]) -> str:
    """Fills "Generate token" on Settings and returns the key it reveals."""
    form = await open_token_form(page)
    await form.get_by_label("Name").fill(name)
    for scope in scopes:
        resource, _, access = scope.partition(":")
        await form.get_by_role("group", name=resource, exact=True).get_by_label(access).check()
    await form.get_by_role("button", name="Generate token").click()
    return await revealed_key(page)


async def revealed_key(page: Page) -> str:
    secret = page.get_by_label("API key", exact=True)
    await expect(secret).to_have_value(re.compile(r"^wsk_live_"))
    # The page that answered the form stands at the settings' own address: reloading it
    # loads the list again instead of posting the form a second time.
    await expect(page).to_have_url(re.compile(r"/dashboard/settings/api$"))
    return await secret.input_value()


def chart_time(seconds: int) -> str:
    """A time as the charts' legend writes it, in UTC: "2026-12-02 6:35pm"."""
    moment = datetime.fromtimestamp(seconds, UTC)
    noon = "am" if moment.hour < 12 else "pm"
    return f"{moment:%Y-%m-%d} {moment.hour % 12 or 12}:{moment:%M}{noon}"


async def pixels_drawn_in(canvas: Locator, colour: str) -> int:
    """How many pixels of `canvas` are (nearly) `colour`, "#rrggbb"."""
    counted: int = await canvas.evaluate(
        """(canvas, colour) => {
            const want = [1, 3, 5].map((at) => parseInt(colour.slice(at, at + 2), 16));
            const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            let found = 0;
            for (let at = 0; at < data.length; at += 4) {
                if (want.every((value, i) => Math.abs(data[at + i] - value) < 12)) found += 1;
            }
            return found;
        }""",
        colour,
    )
    return counted


async def csrf_token(page: Page) -> str:
    return await page.locator('input[name="csrf_token"]').first.input_value()


async def until_logged(page: Page, called: httpx.Response, called_at: float) -> None:
    """Reloads the request log until the call answered by `called` is listed; fails when it
    is not there `LISTED_WITHIN_S` after `called_at` (a `time.monotonic()` taken before it)."""
    request_id = called.headers["x-request-id"]
    row = page.locator(f'tr[data-request-id="{request_id}"]')
    while True:
        await page.goto(LOGS)
        if await row.count():
            return
        if time.monotonic() - called_at > LISTED_WITHIN_S:
            pytest.fail(f"{request_id} was not listed within {LISTED_WITHIN_S} s")
        await asyncio.sleep(0.25)  # polling with a deadline, not waiting a fixed time


class TestSigningIn:
    async def test_invite_set_password_and_land_on_the_overview(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        email = f"{uuid4().hex[:10]}@example.com"
        created = await api.post(
            "/v1/users",
            headers=tenant.headers,
            json={"email": email, "name": "Grace Hopper", "role": "admin"},
        )
        assert created.status_code == 201, created.text
        await page.goto(httpx.URL(created.json()["invite_url"]).path)
        await page.get_by_label("Password", exact=True).fill(PASSWORD)
        await page.get_by_label("The same password again").fill(PASSWORD)
        await page.get_by_role("button", name="Set password and sign in").click()
        await expect(page).to_have_url(re.compile(r"/dashboard/$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text(tenant.organization.name)
        await expect(page.get_by_role("button", name="Sign out Grace Hopper")).to_be_visible()

    async def test_five_wrong_passwords_lock_the_address(self, page: Page, owner: User) -> None:
        for attempt in range(1, 6):
            await sign_in(page, owner.email, "not the password at all")
            # The fifth failure starts the lock, and its page says so.
            said = "is not right" if attempt < 5 else "locked until"
            await expect(page.get_by_role("alert")).to_contain_text(said)
        await sign_in(page, owner.email)
        await expect(page.get_by_role("alert")).to_contain_text("locked until")
        await expect(page).to_have_url(re.compile(r"/dashboard/login$"))
        await page.goto(HOME)
        await expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))

    async def test_reloading_a_refused_sign_in_does_not_send_the_password_again(
        self, page: Page, owner: User
    ) -> None:
        for _ in range(4):
            await sign_in(page, owner.email, "not the password at all")
            await expect(page.get_by_role("alert")).to_contain_text("is not right")
        await page.wait_for_load_state()
        reloaded = await page.reload()
        assert reloaded is not None
        assert reloaded.request.method == "GET"
        await expect(page.get_by_role("alert")).to_have_count(0)
        # A fifth failure, sent by the reload, would have locked the address.
        await signed_in(page, owner)

    async def test_sign_out_ends_the_session(self, page: Page, owner: User) -> None:
        await signed_in(page, owner)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(re.compile(r"/dashboard/login$"))
        await page.goto(HOME)
        await expect(page).to_have_url(re.compile(r"/dashboard/login\?next="))
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


class TestApiAndIntegrations:
    async def test_a_generated_token_is_shown_once_with_a_copy_button(
        self, page: Page, context: BrowserContext, owner: User, tmp_path: Path
    ) -> None:
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        await signed_in(page, owner)
        key = await generate_token(page, "Payroll sync", ["freelancers:read", "invoices:write"])
        copy = page.get_by_role("button", name="Copy")
        await expect(copy).to_be_visible()
        await copy.click()
        await expect(page.get_by_role("button", name="Copied")).to_be_visible()
        assert await page.evaluate("navigator.clipboard.readText()") == key
        await page.screenshot(path=tmp_path / "settings.png", full_page=True)

        # Reloading shows the list again: it does not post the form a second time.
        reloaded = await page.reload()
        assert reloaded is not None
        assert reloaded.request.method == "GET"
        await expect(page.get_by_label("API key", exact=True)).to_have_count(0)
        assert key not in await page.content()
        row = page.locator("tr", has_text="Payroll sync")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text("freelancers:read, invoices:write")
        prefix = "_".join(key.split("_")[:3])  # wsk_live_<key id>
        await expect(row.locator("code")).to_have_text(prefix)

    async def test_a_call_with_the_new_token_is_in_the_log_within_seconds(
        self, page: Page, api: httpx.AsyncClient, owner: User
    ) -> None:
        await signed_in(page, owner)
        key = await generate_token(page, "Log reader", ["company:read"])
        called_at = time.monotonic()
        called = await api.get("/v1/companies/me", headers=bearer(key))
        assert called.status_code == 200, called.text
        await until_logged(page, called, called_at)
        request_id = called.headers["x-request-id"]
        row = page.locator(f'tr[data-request-id="{request_id}"]')
        await expect(row).to_contain_text("/v1/companies/me")
        await expect(row).to_contain_text("Log reader")
        await row.get_by_role("link").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(request_id)
        await expect(page.locator("dl.details")).to_contain_text("python-httpx")

    async def test_rotate_shows_the_new_key_once_and_a_reload_does_not_rotate_again(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        await signed_in(page, owner)
        await page.goto(SETTINGS)
        row = page.locator(f'tr[data-key-prefix="{tenant.api_key.prefix}"]')
        await row.get_by_role("button", name="Rotate").click()
        rotated = await revealed_key(page)
        await page.reload()
        await expect(page.get_by_label("API key", exact=True)).to_have_count(0)
        assert (await api.get("/v1/companies/me", headers=bearer(rotated))).status_code == 200
        assert (await api.get("/v1/companies/me", headers=tenant.headers)).status_code == 401

    async def test_revoke_after_confirming_and_the_key_is_refused(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        await signed_in(page, owner)
        await page.goto(SETTINGS)
        row = page.locator(f'tr[data-key-prefix="{tenant.api_key.prefix}"]')
        await row.get_by_role("button", name="Revoke").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(tenant.api_key.prefix)
        await page.get_by_role("button", name="Revoke").click()
        await expect(page).to_have_url(re.compile(r"/dashboard/settings/api$"))
        await expect(row).to_contain_text("revoked")
        await expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
        refused = await api.get("/v1/companies/me", headers=tenant.headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_api_key"

    async def test_a_member_sees_the_keys_without_actions_and_cannot_post(
        self, app: FastAPI, page: Page, tenant: Tenant
    ) -> None:
        member, _ = await create_user(app, tenant.organization, role=Role.MEMBER)
        await signed_in(page, member)
        await page.goto(SETTINGS)
        row = page.locator(f'tr[data-key-prefix="{tenant.api_key.prefix}"]')
        await expect(row).to_be_visible()
        for action in ("Generate token", "Rotate", "Revoke", "Add kiosk"):
            await expect(page.get_by_role("button", name=action)).to_have_count(0)
        await expect(page.get_by_text("Only owners and admins")).to_be_visible()
        token = await csrf_token(page)
        for path in (
            f"{SETTINGS}/keys",
            f"{SETTINGS}/keys/{tenant.api_key.id}/rotate",
            f"{SETTINGS}/keys/{tenant.api_key.id}/revoke",
        ):
            refused = await page.request.post(
                path, form={"csrf_token": token, "name": "Sneaky", "all_scopes": "1"}
            )
            assert refused.status == 403, path
        await page.reload()
        await expect(page.locator("tr", has_text="Sneaky")).to_have_count(0)
        await expect(row).to_contain_text("active")

    @pytest.mark.parametrize("forged", ["missing", "wrong"])
    async def test_a_form_without_the_right_csrf_token_is_refused(
        self, page: Page, owner: User, forged: str
    ) -> None:
        await signed_in(page, owner)
        form = await open_token_form(page)
        await form.get_by_label("Name").fill("Forged")
        await form.get_by_label("Everything").check()
        hidden = form.locator('input[name="csrf_token"]')
        if forged == "missing":
            await hidden.evaluate("input => input.remove()")
        else:
            await hidden.evaluate("input => { input.value = 'not-the-token'; }")
        async with page.expect_response(f"**{SETTINGS}/keys") as answered:
            await form.get_by_role("button", name="Generate token").click()
        assert (await answered.value).status == 403
        await expect(page.get_by_role("alert")).to_contain_text("did not come from this site")
        await page.goto(SETTINGS)
        await expect(page.locator("tr", has_text="Forged")).to_have_count(0)


class TestRequestLog:
    async def test_filtering_shows_only_matching_rows_and_draws_the_charts(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant, owner: User, tmp_path: Path
    ) -> None:
        called_at = time.monotonic()
        found = await api.get("/v1/companies/me", headers=tenant.headers)
        missing = await api.get("/v1/freelancers/not-an-id", headers=tenant.headers)
        assert missing.status_code == 404
        await signed_in(page, owner)
        await until_logged(page, found, called_at)
        await until_logged(page, missing, called_at)
        await expect(page.locator("#requests-chart canvas")).to_have_count(1)
        await expect(page.locator("#latency-chart canvas")).to_have_count(1)
        await page.screenshot(path=tmp_path / "request-log.png", full_page=True)

        await page.get_by_label("Status", exact=True).fill("4xx")
        await page.get_by_role("button", name="Filter").click()
        await expect(page).to_have_url(re.compile(r"status=4xx"))
        rows = page.locator("tr[data-request-id]")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute(
            "data-request-id", missing.headers["x-request-id"]
        )
        await expect(rows.first.locator("td.status")).to_have_text("404")
        # The swapped-in results draw their charts again.
        await expect(page.locator("#requests-chart canvas")).to_have_count(1)
        await expect(page.locator("#latency-chart canvas")).to_have_count(1)
        await expect(page.get_by_test_id("total")).to_have_text("1")

    async def test_the_charts_span_the_range_in_utc(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        """Hovering the chart's first and last interval shows their UTC times (the browser is
        in Asia/Kolkata), a day apart, and the call just made in the last one."""
        called_at = time.monotonic()
        called = await api.get("/v1/companies/me", headers=tenant.headers)
        await signed_in(page, owner)
        await until_logged(page, called, called_at)
        series = json.loads(await page.locator("#traffic-data").inner_text())
        starts = series["t"]
        assert len(starts) > 1, series
        width = starts[1] - starts[0]
        assert starts[-1] - starts[0] >= 24 * 3600 - 2 * width, "the chart spans the last day"
        chart = page.locator("#requests-chart")
        plot = chart.locator(".u-over")  # uPlot's plotting area, which follows the pointer
        box = await plot.bounding_box()
        assert box is not None
        legend = chart.locator(".u-legend .u-series")
        for x, index in ((1, 0), (box["width"] - 1, -1)):
            await plot.hover(position={"x": x, "y": box["height"] / 2})
            await expect(legend.first.locator(".u-value")).to_have_text(chart_time(starts[index]))
        await expect(legend.filter(has_text="2xx").locator(".u-value")).to_have_text("1")
        # One busy interval in a quiet day: its latency is drawn, not a line of one point.
        latency = page.locator("#latency-chart canvas")
        assert await pixels_drawn_in(latency, P95_COLOUR) > 0

    async def test_download_the_filtered_rows_as_csv(
        self, page: Page, api: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        called_at = time.monotonic()
        found = await api.get("/v1/companies/me", headers=tenant.headers)
        missing = await api.get("/v1/freelancers/not-an-id", headers=tenant.headers)
        await signed_in(page, owner)
        await until_logged(page, found, called_at)
        await until_logged(page, missing, called_at)
        await page.get_by_label("Status", exact=True).fill("404")
        await page.get_by_role("button", name="Filter").click()
        await expect(page.locator("tr[data-request-id]")).to_have_count(1)
        # The link was swapped in with the rows: it carries the filters.
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="Download these rows as CSV").click()
        download = await downloading.value
        assert download.suggested_filename.endswith(".csv")
        text = await asyncio.to_thread((await download.path()).read_text)
        assert text.startswith("created_at,request_id,method,path,status")
        assert missing.headers["x-request-id"] in text
        assert found.headers["x-request-id"] not in text


async def test_pages_load_nothing_from_outside_the_service(
    page: Page,
    context: BrowserContext,
    api: httpx.AsyncClient,
    live_server: ServerProcess,
    tenant: Tenant,
    owner: User,
) -> None:
    # The guard first: this context reaches nothing but the service.
    elsewhere = await context.new_page()
    async with elsewhere.expect_event("requestfailed") as failing:
        await elsewhere.evaluate("fetch('http://example.com/').catch(() => null)")
    failure = (await failing.value).failure
    assert failure is not None
    assert failure.startswith("net::ERR_BLOCKED_BY_CLIENT"), failure
    await elsewhere.close()

    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    called_at = time.monotonic()
    called = await api.get("/v1/company", headers=tenant.headers)
    await signed_in(page, owner)
    await until_logged(page, called, called_at)
    for path in (
        HOME,
        SETTINGS,
        LOGS,
        f"{LOGS}/{called.headers['x-request-id']}",
        "/dashboard/deprecations",
        f"{SETTINGS}/keys/{tenant.api_key.id}/revoke",
    ):
        answer = await page.goto(path)
        assert answer is not None
        assert answer.status == 200, path
        await page.wait_for_load_state("load")
        if path == "/dashboard/deprecations":
            await expect(page.get_by_test_id("deprecation")).to_contain_text("GET /v1/company")
    assert requested
    outside = [url for url in requested if not url.startswith(live_server.url + "/")]
    assert outside == []
    assert problems == []
    # Each page's own assets were among them: the service serves its scripts and styles.
    assert any(url.endswith("/uPlot.iife.min.js") for url in requested)


class TestTestMode:
    async def test_the_header_toggle_switches_to_test_data_and_back(
        self, page: Page, api: httpx.AsyncClient, owner: User
    ) -> None:
        await signed_in(page, owner)
        await page.goto(SETTINGS)
        toggle = page.get_by_role("button", name="Test data")
        await expect(toggle).to_have_attribute("aria-pressed", "false")
        await toggle.click()
        await expect(page).to_have_url(re.compile(r"/dashboard/settings/api$"))
        await expect(page.get_by_role("button", name="Test data")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(page.get_by_role("status")).to_contain_text("Test mode")

        form = await open_token_form(page)
        await form.get_by_label("Name").fill("Sandbox")
        await form.get_by_role("group", name="company", exact=True).get_by_label("read").check()
        await form.get_by_role("button", name="Generate token").click()
        secret = page.get_by_label("API key", exact=True)
        await expect(secret).to_have_value(re.compile(r"^wsk_test_"))
        me = await api.get("/v1/companies/me", headers=bearer(await secret.input_value()))
        assert me.json()["livemode"] is False

        await page.get_by_role("button", name="Test data").click()
        await expect(page.get_by_role("button", name="Test data")).to_have_attribute(
            "aria-pressed", "false"
        )
        await expect(page.get_by_text("Test mode:")).to_have_count(0)
