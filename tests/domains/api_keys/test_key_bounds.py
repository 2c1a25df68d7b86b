"""API.md §2: a key manages keys within its own bounds.

It never changes, rotates or revokes a key holding a scope it lacks (it may always revoke
itself), and a key it creates expires no later and reaches no wider set of addresses.
"""

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.http import assert_problem, assert_validation_error
from tests.factories.organizations import create_organization
from tests.factories.tenants import Tenant

from worksible_api.kit.time import utc_now
from worksible_api.models import Organization
from worksible_api.models.organization import Plan

KEYS = "/v1/api-keys"
NARROW = ["api_keys:write", "freelancers:read"]


def parsed(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


class TestKeysBeyondOnesScopes:
    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("PATCH", "", {"name": "Renamed"}),
            ("PATCH", "", {"scopes": ["freelancers:read"]}),
            ("DELETE", "", None),
            ("POST", "/rotate", None),
        ],
        ids=["rename", "narrow", "revoke", "rotate"],
    )
    async def test_a_narrow_key_cannot_touch_a_wider_one(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        method: str,
        suffix: str,
        body: dict[str, object] | None,
    ) -> None:
        _, narrow = await create_api_key(app, tenant.organization, scopes=NARROW)
        path = f"{KEYS}/{tenant.api_key.id}{suffix}"
        response = await client.request(method, path, headers=bearer(narrow), json=body)
        assert_problem(response, 403, "insufficient_scope")
        unchanged = await client.get(f"{KEYS}/{tenant.api_key.id}", headers=tenant.headers)
        assert unchanged.json()["status"] == "active"
        assert unchanged.json()["scopes"] == ["*"]
        assert (await client.get("/v1/companies/me", headers=tenant.headers)).status_code == 200

    async def test_keys_within_ones_scopes_can_be_changed_and_revoked(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, narrow = await create_api_key(app, tenant.organization, scopes=NARROW)
        peer, _ = await create_api_key(app, tenant.organization, scopes=["freelancers:read"])
        renamed = await client.patch(
            f"{KEYS}/{peer.id}", headers=bearer(narrow), json={"name": "Peer"}
        )
        assert renamed.status_code == 200
        revoked = await client.delete(f"{KEYS}/{peer.id}", headers=bearer(narrow))
        assert revoked.json()["status"] == "revoked"

    async def test_a_key_may_always_revoke_itself(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        itself, narrow = await create_api_key(app, tenant.organization, scopes=["api_keys:write"])
        revoked = await client.delete(f"{KEYS}/{itself.id}", headers=bearer(narrow))
        assert revoked.status_code == 200
        assert revoked.json()["status"] == "revoked"
        after = await client.get("/v1/companies/me", headers=bearer(narrow))
        assert after.status_code == 401


class TestKeysMadeByKeys:
    async def test_expire_no_later_than_their_maker_by_default(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        maker_expiry = utc_now() + timedelta(days=30)
        maker, key = await create_api_key(app, tenant.organization, expires_at=maker_expiry)
        made = await client.post(KEYS, headers=bearer(key), json={"name": "Child"})
        assert made.status_code == 201
        assert parsed(made.json()["expires_at"]) == maker.expires_at.replace(microsecond=0)

    async def test_a_later_expiry_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, tenant.organization, expires_at=utc_now() + timedelta(days=30)
        )
        later = (utc_now() + timedelta(days=31)).isoformat()
        response = await client.post(KEYS, headers=bearer(key), json={"expires_at": later})
        errors = assert_validation_error(response)
        assert ["body", "expires_at"] in [error["loc"] for error in errors]

    async def test_an_earlier_expiry_is_fine(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, tenant.organization, expires_at=utc_now() + timedelta(days=30)
        )
        sooner = utc_now() + timedelta(days=10)
        response = await client.post(
            KEYS, headers=bearer(key), json={"expires_at": sooner.isoformat()}
        )
        assert response.status_code == 201


class TestAllowlistsOfKeysMadeByKeys:
    @pytest.fixture
    async def enterprise(self, app: FastAPI) -> Organization:
        return await create_organization(app, plan=Plan.ENTERPRISE)

    async def test_inherit_their_makers_allowlist(
        self, app: FastAPI, client: httpx.AsyncClient, enterprise: Organization
    ) -> None:
        _, key = await create_api_key(app, enterprise, ip_allowlist=["127.0.0.0/8"])
        made = await client.post(KEYS, headers=bearer(key), json={})
        assert made.json()["ip_allowlist"] == ["127.0.0.0/8"]

    async def test_may_be_narrower(
        self, app: FastAPI, client: httpx.AsyncClient, enterprise: Organization
    ) -> None:
        _, key = await create_api_key(app, enterprise, ip_allowlist=["127.0.0.0/8"])
        made = await client.post(KEYS, headers=bearer(key), json={"ip_allowlist": ["127.0.0.1"]})
        assert made.json()["ip_allowlist"] == ["127.0.0.1/32"]

    @pytest.mark.parametrize("wider", [["0.0.0.0/0"], ["10.0.0.0/8"], ["::/0"]])
    async def test_may_not_be_wider_on_create_or_change(
        self, app: FastAPI, client: httpx.AsyncClient, enterprise: Organization, wider: list[str]
    ) -> None:
        _, key = await create_api_key(app, enterprise, ip_allowlist=["127.0.0.0/8"])
        created = await client.post(KEYS, headers=bearer(key), json={"ip_allowlist": wider})
        assert_validation_error(created)
        peer, _ = await create_api_key(app, enterprise, ip_allowlist=["127.0.0.1/32"])
        changed = await client.patch(
            f"{KEYS}/{peer.id}", headers=bearer(key), json={"ip_allowlist": wider}
        )
        assert_validation_error(changed)
        after = await client.get(f"{KEYS}/{peer.id}", headers=bearer(key))
        assert after.json()["ip_allowlist"] == ["127.0.0.1/32"]
