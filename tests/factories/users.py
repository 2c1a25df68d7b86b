"""Users of the dashboard, and a browser-like client that signs in as one."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI

from tests.conftest import client_for
from worksible_api.db.session import commit
from worksible_api.domains.users.schemas import Role, UserCreate
from worksible_api.domains.users.service import UserService, accept_invite
from worksible_api.kit.time import utc_now
from worksible_api.models import Organization, User

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def create_user(
    app: FastAPI,
    organization: Organization,
    *,
    role: Role = Role.OWNER,
    password: str | None = PASSWORD,
    email: str | None = None,
) -> tuple[User, str]:
    """A user of `organization` and their invitation token; with `password`, the invitation
    is already accepted (the user is active)."""
    async with app.state.sessionmaker() as session:
        data = UserCreate(
            email=email or f"{uuid4().hex[:10]}@example.com", name="Ada Lovelace", role=role
        )
        user, token = await UserService(session, organization.id).create(data)
        if password is not None:
            user = await accept_invite(session, token, password, utc_now())
        await commit(session)
        return user, token


def form_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found is not None, html[:500]
    return found.group(1)


@dataclass
class Browser:
    """An httpx client that keeps cookies and fills in the forms' anti-forgery tokens."""

    http: httpx.AsyncClient

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = await self.http.get("/dashboard/login")
        return await self.http.post(
            "/dashboard/login",
            data={"email": email, "password": password, "csrf_token": form_token(page.text)},
        )

    async def submit(self, page_path: str, action: str, **fields: Any) -> httpx.Response:
        """Loads `page_path`, then posts `fields` to `action` with that page's token."""
        page = await self.http.get(page_path)
        assert page.status_code == 200, page.text[:500]
        return await self.http.post(action, data={"csrf_token": form_token(page.text), **fields})


@asynccontextmanager
async def signed_in(app: FastAPI, user: User) -> AsyncIterator[Browser]:
    async with client_for(app) as http:
        browser = Browser(http)
        answer = await browser.sign_in(user.email)
        assert answer.status_code == 303, answer.text[:500]
        yield browser
