from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from tests.factories.api_keys import bearer, create_api_key
from tests.factories.organizations import create_organization
from worksible_api.domains.organizations.repository import twin_of
from worksible_api.models import ApiKey, Organization
from worksible_api.models.organization import Plan


@dataclass(frozen=True)
class Tenant:
    """An organization with one key: what a test needs to call the API as a customer."""

    organization: Organization
    api_key: ApiKey
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


async def create_tenant(
    app: FastAPI, *, plan: Plan = Plan.PROFESSIONAL, scopes: Sequence[str] = ("*",)
) -> Tenant:
    organization = await create_organization(app, plan=plan)
    api_key, key = await create_api_key(app, organization, scopes=scopes)
    return Tenant(organization, api_key, key)


async def create_test_tenant(
    app: FastAPI, live: Tenant, *, scopes: Sequence[str] = ("*",)
) -> Tenant:
    """`live`'s organization in test mode (API.md §17): its test twin, made on its first test
    key, and a test key of it."""
    api_key, key = await create_api_key(app, live.organization, scopes=scopes, livemode=False)
    async with app.state.sessionmaker() as session:
        twin = await twin_of(session, live.organization.id)
    assert twin is not None
    return Tenant(twin, api_key, key)
