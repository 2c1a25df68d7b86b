"""The dashboard's switch between live and test data (API.md §17): a toggle in the header,
kept in the server-side session, after which every page shows and acts for the test twin."""

import re

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer
from tests.factories.organizations import create_organization
from tests.factories.tenants import Tenant, create_test_tenant
from tests.factories.users import Browser, create_user, signed_in

from worksible_api.domains.users.schemas import Role
from worksible_api.models import User
from worksible_api.models.organization import Plan

SETTINGS = "/dashboard/settings/api"
KEY_REVEALED = re.compile(r'value="(wsk_(?:live|test)_[^"]+)"')
TOGGLE = re.compile(r'<button[^>]*aria-pressed="(true|false)"[^>]*>Test data</button>')


@pytest.fixture
async def owner(app: FastAPI, tenant: Tenant) -> User:
    return (await create_user(app, tenant.organization, role=Role.OWNER))[0]


async def switch(browser: Browser, *, livemode: bool, back_to: str = SETTINGS) -> None:
    answer = await browser.submit(
        back_to, "/dashboard/mode", livemode=str(livemode).lower(), next=back_to
    )
    assert answer.status_code == 303, answer.text[:500]
    assert answer.headers["location"] == back_to


def pressed(html: str) -> bool:
    found = TOGGLE.search(html)
    assert found is not None, html[:2000]
    return found.group(1) == "true"


class TestSwitch:
    async def test_generate_token_in_test_mode_makes_a_test_key(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        async with signed_in(app, owner) as browser:
            assert not pressed((await browser.http.get(SETTINGS)).text)
            await switch(browser, livemode=False)
            page = await browser.http.get(SETTINGS)
            assert pressed(page.text)
            assert "Test mode:" in page.text
            # The live key is live data: not listed in test mode.
            assert tenant.api_key.prefix not in page.text
            made = await browser.submit(
                SETTINGS, f"{SETTINGS}/keys", name="Sandbox", scopes=["*"], lifetime_days="90"
            )
            assert made.status_code == 201, made.text[:1000]
            found = KEY_REVEALED.search(made.text)
            assert found is not None
            key = found.group(1)
        assert key.startswith("wsk_test_")
        me = (await client.get("/v1/companies/me", headers=bearer(key))).json()
        assert me["livemode"] is False
        live_keys = (await client.get("/v1/api-keys", headers=tenant.headers)).json()
        assert [item["id"] for item in live_keys["results"]] == [str(tenant.api_key.id)]

    async def test_switching_back_shows_live_data_again(
        self, app: FastAPI, tenant: Tenant, owner: User
    ) -> None:
        test = await create_test_tenant(app, tenant)
        async with signed_in(app, owner) as browser:
            await switch(browser, livemode=False)
            shown = (await browser.http.get(SETTINGS)).text
            assert test.api_key.prefix in shown
            assert tenant.api_key.prefix not in shown
            await switch(browser, livemode=True)
            shown = (await browser.http.get(SETTINGS)).text
            assert tenant.api_key.prefix in shown
            assert test.api_key.prefix not in shown
            assert not pressed(shown)
            assert "Test mode:" not in shown

    async def test_the_mode_is_the_sessions_own(
        self, app: FastAPI, tenant: Tenant, owner: User
    ) -> None:
        async with signed_in(app, owner) as switched, signed_in(app, owner) as other:
            await switch(switched, livemode=False)
            assert pressed((await switched.http.get(SETTINGS)).text)
            assert not pressed((await other.http.get(SETTINGS)).text)

    async def test_the_switch_needs_the_forms_token(self, app: FastAPI, owner: User) -> None:
        async with signed_in(app, owner) as browser:
            forged = await browser.http.post("/dashboard/mode", data={"livemode": "false"})
            assert forged.status_code == 403
            assert not pressed((await browser.http.get(SETTINGS)).text)

    async def test_the_outbox_shows_test_modes_notices_unsent(
        self, app: FastAPI, owner: User
    ) -> None:
        async with signed_in(app, owner) as browser:
            await switch(browser, livemode=False, back_to="/dashboard/outbox")
            page = await browser.http.get("/dashboard/outbox")
        assert "No mail is sent in test mode" in page.text

    async def test_no_test_mode_without_api_access(self, app: FastAPI) -> None:
        organization = await create_organization(app, plan=Plan.CORE)
        user, _ = await create_user(app, organization, role=Role.OWNER)
        async with signed_in(app, user) as browser:
            refused = await browser.submit(
                SETTINGS, "/dashboard/mode", livemode="false", next=SETTINGS
            )
            assert refused.status_code == 403
            assert not pressed((await browser.http.get(SETTINGS)).text)
