"""API.md §2: plan gating and IP allowlists with TRUSTED_PROXIES."""

from collections.abc import AsyncIterator
from ipaddress import ip_network

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.organizations import create_organization, set_plan
from tests.factories.tenants import Tenant, create_tenant

from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.errors import PlanNotEligible
from worksible_api.models.organization import Plan

ME = "/v1/companies/me"


class TestPlanGating:
    @pytest.mark.parametrize("plan", [Plan.TRIAL, Plan.CORE])
    async def test_ineligible_plans_cannot_create_keys(self, app: FastAPI, plan: Plan) -> None:
        organization = await create_organization(app, plan=plan)
        async with app.state.sessionmaker() as session:
            service = ApiKeyService(
                session, organization.id, app.state.key_verifier, actor=OPERATOR
            )
            with pytest.raises(PlanNotEligible):
                await service.create(ApiKeyCreate())

    @pytest.mark.parametrize("plan", [Plan.PROFESSIONAL, Plan.GLOBAL, Plan.ENTERPRISE, Plan.AOR])
    async def test_eligible_plans_can(
        self, app: FastAPI, client: httpx.AsyncClient, plan: Plan
    ) -> None:
        tenant = await create_tenant(app, plan=plan)
        assert (await client.get(ME, headers=tenant.headers)).status_code == 200

    async def test_downgrade_refuses_existing_keys_and_upgrade_restores_them(
        self, app: FastAPI, second_app: FastAPI, tenant: Tenant
    ) -> None:
        async with client_for(app) as first, client_for(second_app) as second:
            for http in (first, second):
                assert (await http.get(ME, headers=tenant.headers)).status_code == 200
            await set_plan(app, tenant.organization, Plan.CORE)
            for http in (first, second):
                response = await http.get(ME, headers=tenant.headers)
                assert response.status_code == 403
                assert response.json()["code"] == "plan_not_eligible"
            await set_plan(app, tenant.organization, Plan.GLOBAL)
            for http in (first, second):
                assert (await http.get(ME, headers=tenant.headers)).status_code == 200


@pytest.fixture
async def enterprise(app: FastAPI) -> Tenant:
    return await create_tenant(app, plan=Plan.ENTERPRISE)


@pytest.fixture
async def proxied_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The service behind a trusted proxy at 127.0.0.1."""
    trusting = settings.model_copy(update={"trusted_proxies": [ip_network("127.0.0.1/32")]})
    app = create_app(trusting)
    async with LifespanManager(app):
        yield app


class TestIpAllowlist:
    async def test_only_enterprise_may_set_an_allowlist(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post(
            "/v1/api-keys", headers=tenant.headers, json={"ip_allowlist": ["10.0.0.0/8"]}
        )
        assert response.status_code == 403
        assert response.json()["code"] == "plan_not_eligible"

    async def test_requests_from_outside_the_list_are_refused(
        self, app: FastAPI, enterprise: Tenant
    ) -> None:
        _, key = await create_api_key(
            app, enterprise.organization, ip_allowlist=["10.0.0.0/8", "2001:db8::/32"]
        )
        async with client_for(app, "10.1.2.3") as inside, client_for(app, "192.0.2.1") as outside:
            assert (await inside.get(ME, headers=bearer(key))).status_code == 200
            response = await outside.get(ME, headers=bearer(key))
        assert response.status_code == 403
        assert response.json()["code"] == "ip_not_allowed"

    async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, app: FastAPI, enterprise: Tenant
    ) -> None:
        _, key = await create_api_key(app, enterprise.organization, ip_allowlist=["10.0.0.0/8"])
        async with client_for(app, "192.0.2.1") as spoofer:
            response = await spoofer.get(ME, headers={**bearer(key), "X-Forwarded-For": "10.1.2.3"})
        assert response.status_code == 403
        assert response.json()["code"] == "ip_not_allowed"

    async def test_forwarded_for_from_a_trusted_proxy_counts(
        self, proxied_app: FastAPI, enterprise: Tenant
    ) -> None:
        _, key = await create_api_key(
            proxied_app, enterprise.organization, ip_allowlist=["10.0.0.0/8"]
        )
        async with client_for(proxied_app, "127.0.0.1") as proxy:
            allowed = await proxy.get(ME, headers={**bearer(key), "X-Forwarded-For": "10.1.2.3"})
            # The client wrote the leftmost address; the proxy appended the real one.
            spoofed = await proxy.get(
                ME, headers={**bearer(key), "X-Forwarded-For": "10.1.2.3, 192.0.2.1"}
            )
        assert allowed.status_code == 200
        assert spoofed.status_code == 403

    async def test_updating_the_allowlist_applies_at_once(
        self, app: FastAPI, client: httpx.AsyncClient, enterprise: Tenant
    ) -> None:
        assert (await client.get(ME, headers=enterprise.headers)).status_code == 200
        response = await client.patch(
            f"/v1/api-keys/{enterprise.api_key.id}",
            headers=enterprise.headers,
            json={"ip_allowlist": ["10.0.0.0/8"]},
        )
        assert response.status_code == 200
        assert response.json()["ip_allowlist"] == ["10.0.0.0/8"]
        assert (await client.get(ME, headers=enterprise.headers)).status_code == 403

    async def test_invalid_cidr_is_422(self, client: httpx.AsyncClient, enterprise: Tenant) -> None:
        response = await client.post(
            "/v1/api-keys", headers=enterprise.headers, json={"ip_allowlist": ["10.0.0.300/8"]}
        )
        assert response.status_code == 422
