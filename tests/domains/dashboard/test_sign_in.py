"""The dashboard's sign-in (API.md §14): invitations, passwords, sessions, lockout, CSRF."""

import asyncio
import re
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from tests.conftest import client_for
from tests.factories.tenants import Tenant
from tests.factories.users import PASSWORD, Browser, create_user, form_token, signed_in
from tests.fixtures.apps import app_with

from worksible_api.config import Settings

HOME = "/dashboard/"


def session_cookie(response: httpx.Response) -> str:
    (header,) = [
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith("wsk_session=")
    ]
    return header


class TestInvitation:
    async def test_invite_set_password_and_sign_in(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        created = await client.post(
            "/v1/users",
            headers=tenant.headers,
            json={"email": f"{uuid4().hex[:10]}@example.com", "name": "N", "role": "owner"},
        )
        invite_path = httpx.URL(created.json()["invite_url"]).path
        async with client_for(app) as http:
            browser = Browser(http)
            accepted = await browser.submit(
                invite_path, invite_path, password=PASSWORD, password_again=PASSWORD
            )
            assert accepted.status_code == 303
            assert accepted.headers["location"] == HOME
            assert (await http.get(HOME)).status_code == 200
            # The invitation is spent.
            again = await browser.submit(
                invite_path, invite_path, password=PASSWORD, password_again=PASSWORD
            )
            assert again.status_code == 400
        listed = await client.get(f"/v1/users/{created.json()['id']}", headers=tenant.headers)
        assert listed.json()["status"] == "active"

    @pytest.mark.parametrize(
        ("password", "again", "message"),
        [
            ("short", "short", "at least 12"),
            (PASSWORD, PASSWORD + "x", "differ"),
        ],
        ids=["too_short", "different"],
    )
    async def test_a_bad_password_is_refused(
        self, app: FastAPI, tenant: Tenant, password: str, again: str, message: str
    ) -> None:
        _, token = await create_user(app, tenant.organization, password=None)
        path = f"/dashboard/invite/{token}"
        async with client_for(app) as http:
            answer = await Browser(http).submit(path, path, password=password, password_again=again)
        assert answer.status_code == 400
        assert message in answer.text

    async def test_an_unknown_invitation_is_refused(self, app: FastAPI) -> None:
        path = "/dashboard/invite/not-a-token"
        async with client_for(app) as http:
            answer = await Browser(http).submit(
                path, path, password=PASSWORD, password_again=PASSWORD
            )
        assert answer.status_code == 400
        assert "not valid" in answer.text


class TestSignIn:
    async def test_a_page_without_a_session_redirects_to_the_sign_in(
        self, client: httpx.AsyncClient
    ) -> None:
        answer = await client.get("/dashboard/logs?status=5xx")
        assert answer.status_code == 303
        assert (
            answer.headers["location"] == "/dashboard/login?next=%2Fdashboard%2Flogs%3Fstatus%3D5xx"
        )

    async def test_the_cookie_is_httponly_lax_and_scoped_to_the_dashboard(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            answer = await Browser(http).sign_in(user.email)
        cookie = session_cookie(answer).lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "path=/dashboard" in cookie
        assert "secure" not in cookie  # the public base URL is http here

    async def test_the_cookie_is_secure_behind_https(
        self, settings: Settings, tenant: Tenant
    ) -> None:
        base = "https://api.example.com"
        async with app_with(settings, public_base_url=base) as app:
            user, _ = await create_user(app, tenant.organization)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url=base) as http:
                answer = await Browser(http).sign_in(user.email)
        assert "secure" in session_cookie(answer).lower()

    async def test_goes_back_to_the_page_asked_for_but_never_elsewhere(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            page = await http.get("/dashboard/login?next=/dashboard/logs")
            token = form_token(page.text)
            fields = {"email": user.email, "password": PASSWORD, "csrf_token": token}
            there = await http.post("/dashboard/login", data={**fields, "next": "/dashboard/logs"})
            away = await http.post(
                "/dashboard/login", data={**fields, "next": "https://evil.example/dashboard/"}
            )
        assert there.headers["location"] == "/dashboard/logs"
        assert away.headers["location"] == HOME

    async def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            wrong = await Browser(http).sign_in(user.email, "not the password")
            unknown = await Browser(http).sign_in("nobody@example.com", "not the password")
        assert wrong.status_code == unknown.status_code == 401
        message = re.compile(r'<p role="alert" class="error">([^<]+)</p>')
        assert message.findall(wrong.text) == message.findall(unknown.text)

    async def test_an_invited_user_cannot_sign_in_yet(self, app: FastAPI, tenant: Tenant) -> None:
        user, _ = await create_user(app, tenant.organization, password=None)
        async with client_for(app) as http:
            assert (await Browser(http).sign_in(user.email)).status_code == 401


class TestLockout:
    async def test_five_failures_lock_the_address_even_for_the_right_password(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            browser = Browser(http)
            for _ in range(5):
                assert (await browser.sign_in(user.email, "wrong password!")).status_code == 401
            locked = await browser.sign_in(user.email)
        assert locked.status_code == 401
        assert "locked until" in locked.text

    async def test_the_lock_ends_15_minutes_after_the_fifth_failure(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            browser = Browser(http)
            for _ in range(5):
                await browser.sign_in(user.email, "wrong password!")
            async with app.state.sessionmaker() as session:
                await session.execute(
                    text(
                        "UPDATE sign_in_failures SET failed_at = failed_at - interval '15 minutes 1 second' WHERE email_key = :email"
                    ),
                    {"email": user.email.lower()},
                )
                await session.commit()
            assert (await browser.sign_in(user.email)).status_code == 303

    async def test_concurrent_guesses_cannot_slip_past_the_count(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as first, client_for(second_app) as second:
            guesses = [Browser(http) for http in (first, second) * 6]
            answers = await asyncio.gather(
                *(
                    browser.sign_in(user.email, f"guess number {i}!")
                    for i, browser in enumerate(guesses)
                )
            )
            assert {answer.status_code for answer in answers} == {401}
            locked = await Browser(first).sign_in(user.email)
        assert "locked until" in locked.text
        async with app.state.sessionmaker() as session:
            recorded = await session.scalar(
                text("SELECT count(*) FROM sign_in_failures WHERE email_key = :email"),
                {"email": user.email.lower()},
            )
        assert recorded == 5  # once locked, guesses are refused without being checked


class TestSessions:
    async def test_sign_out_ends_the_session_at_once_on_every_instance(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with signed_in(app, user) as browser:
            cookies = dict(browser.http.cookies)
            out = await browser.submit(HOME, "/dashboard/logout")
            assert out.status_code == 303
        async with client_for(second_app) as other:
            other.cookies.update(cookies)
            replayed = await other.get(HOME)
        assert replayed.status_code == 303

    async def test_a_session_idle_for_12_hours_has_ended(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with signed_in(app, user) as browser:
            async with app.state.sessionmaker() as session:
                await session.execute(
                    text(
                        "UPDATE dashboard_sessions SET last_seen_at = now() - interval "
                        "'12 hours 1 second' WHERE user_id = :user"
                    ),
                    {"user": user.id},
                )
                await session.commit()
            assert (await browser.http.get(HOME)).status_code == 303

    async def test_a_session_cookie_never_opens_the_api(self, app: FastAPI, tenant: Tenant) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with signed_in(app, user) as browser:
            token = browser.http.cookies["wsk_session"]
            answer = await browser.http.get(
                "/v1/companies/me", headers={"Cookie": f"wsk_session={token}"}
            )
        assert answer.status_code == 401
        assert answer.json()["code"] == "missing_api_key"

    async def test_an_api_key_never_opens_the_dashboard(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        answer = await client.get(HOME, headers=tenant.headers)
        assert answer.status_code == 303


class TestCsrf:
    async def test_a_post_without_the_sessions_token_is_refused(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with signed_in(app, user) as browser:
            missing = await browser.http.post(
                "/dashboard/settings/api/kiosks", data={"name": "Forged"}
            )
            wrong = await browser.http.post(
                "/dashboard/settings/api/kiosks", data={"name": "Forged", "csrf_token": "x" * 43}
            )
            settings_page = await browser.http.get("/dashboard/settings/api")
        for answer in (missing, wrong):
            assert answer.status_code == 403
            assert "did not come from this site" in answer.text
        assert "Forged" not in settings_page.text

    async def test_another_sites_origin_is_refused_even_with_the_token(
        self, app: FastAPI, tenant: Tenant
    ) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with signed_in(app, user) as browser:
            page = await browser.http.get("/dashboard/settings/api")
            answer = await browser.http.post(
                "/dashboard/settings/api/kiosks",
                data={"name": "Forged", "csrf_token": form_token(page.text)},
                headers={"Origin": "https://evil.example"},
            )
        assert answer.status_code == 403

    async def test_the_sign_in_form_needs_its_own_token(self, app: FastAPI, tenant: Tenant) -> None:
        user, _ = await create_user(app, tenant.organization)
        async with client_for(app) as http:
            answer = await http.post(
                "/dashboard/login",
                data={"email": user.email, "password": PASSWORD, "csrf_token": "x"},
            )
        assert answer.status_code == 403
