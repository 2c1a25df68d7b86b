"""/v1/users (API.md §14): invitations, roles, deactivation and the last owner."""

import asyncio
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.tenants import Tenant
from tests.factories.users import PASSWORD, create_user, signed_in

from worksible_api.domains.users.schemas import Role

USERS = "/v1/users"


def new_user(role: str = "member", **fields: str) -> dict[str, str]:
    return {
        "email": f"{uuid4().hex[:10]}@example.com",
        "name": "Grace Hopper",
        "role": role,
        **fields,
    }


class TestCreate:
    async def test_answers_the_user_and_a_one_time_invitation(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post(USERS, headers=tenant.headers, json=new_user("admin"))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["object"] == "user"
        assert body["status"] == "invited"
        assert body["role"] == "admin"
        base = app.state.settings.public_base_url
        assert body["invite_url"].startswith(f"{base}/dashboard/invite/")
        fetched = await client.get(f"{USERS}/{body['id']}", headers=tenant.headers)
        assert "invite_url" not in fetched.json()

    async def test_an_address_is_one_sign_in_across_the_service(
        self, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        body = new_user()
        assert (await client.post(USERS, headers=tenant.headers, json=body)).status_code == 201
        shouted = {**body, "email": body["email"].upper()}
        taken = await client.post(USERS, headers=other_tenant.headers, json=shouted)
        assert_problem(taken, 409, "conflict")

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "not-an-address", "name": "X", "role": "member"},
            {"email": "a@example.com", "name": "X", "role": "superuser"},
            {"email": "a@example.com", "role": "member"},
            {"email": "a@example.com", "name": "X", "role": "member", "password": "x"},
        ],
        ids=["bad_email", "bad_role", "no_name", "unknown_field"],
    )
    async def test_bad_bodies_are_422(
        self, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, str]
    ) -> None:
        assert_validation_error(await client.post(USERS, headers=tenant.headers, json=body))

    async def test_needs_the_users_scope(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, reader = await create_api_key(app, tenant.organization, scopes=["users:read"])
        refused = await client.post(USERS, headers=bearer(reader), json=new_user())
        assert_problem(refused, 403, "insufficient_scope")
        assert (await client.get(USERS, headers=bearer(reader))).status_code == 200


class TestLastOwner:
    async def test_the_last_active_owner_cannot_be_demoted_or_deactivated(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        owner, _ = await create_user(app, tenant.organization, role=Role.OWNER)
        demoted = await client.patch(
            f"{USERS}/{owner.id}", headers=tenant.headers, json={"role": "admin"}
        )
        assert_problem(demoted, 409, "last_owner")
        deactivated = await client.delete(f"{USERS}/{owner.id}", headers=tenant.headers)
        assert_problem(deactivated, 409, "last_owner")

    async def test_with_a_second_owner_one_may_go(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        first, _ = await create_user(app, tenant.organization, role=Role.OWNER)
        await create_user(app, tenant.organization, role=Role.OWNER)
        demoted = await client.patch(
            f"{USERS}/{first.id}", headers=tenant.headers, json={"role": "member"}
        )
        assert demoted.status_code == 200
        assert demoted.json()["role"] == "member"

    async def test_an_invited_owner_does_not_count(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        owner, _ = await create_user(app, tenant.organization, role=Role.OWNER)
        await create_user(app, tenant.organization, role=Role.OWNER, password=None)
        refused = await client.delete(f"{USERS}/{owner.id}", headers=tenant.headers)
        assert_problem(refused, 409, "last_owner")

    async def test_two_owners_removed_at_once_leave_one(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        owners = [
            (await create_user(app, tenant.organization, role=Role.OWNER))[0] for _ in range(2)
        ]
        async with client_for(app) as first, client_for(second_app) as second:
            answers = await asyncio.gather(
                first.delete(f"{USERS}/{owners[0].id}", headers=tenant.headers),
                second.delete(f"{USERS}/{owners[1].id}", headers=tenant.headers),
            )
        assert sorted(answer.status_code for answer in answers) == [200, 409]


class TestDeactivate:
    async def test_ends_the_users_sessions_at_once(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        await create_user(app, tenant.organization, role=Role.OWNER)
        member, _ = await create_user(app, tenant.organization, role=Role.MEMBER)
        async with signed_in(app, member) as browser:
            assert (await browser.http.get("/dashboard/")).status_code == 200
            gone = await client.delete(f"{USERS}/{member.id}", headers=tenant.headers)
            assert gone.json()["status"] == "deactivated"
            after = await browser.http.get("/dashboard/")
            assert after.status_code == 303
            again = await browser.sign_in(member.email, PASSWORD)
            assert again.status_code == 401
