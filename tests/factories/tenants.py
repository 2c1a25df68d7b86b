from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from tests.factories.api_keys import bearer, create_api_key
from tests.factories.organizations import create_organization
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
