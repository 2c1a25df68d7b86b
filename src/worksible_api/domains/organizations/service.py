from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.verifier import KeyVerifier
from worksible_api.db.session import after_commit
from worksible_api.domains.api_keys.repository import key_ids_of
from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.domains.organizations.schemas import CompanyUpdate
from worksible_api.errors import ValidationFailed
from worksible_api.models import Organization
from worksible_api.models.organization import Plan

NOT_NULLABLE = ("name", "default_currency", "metadata")


async def create_organization(
    session: AsyncSession,
    *,
    name: str,
    plan: Plan,
    country: str | None = None,
    default_currency: str = "EUR",
    billing_email: str | None = None,
) -> Organization:
    organization = Organization(
        name=name,
        plan=plan,
        country=country,
        default_currency=default_currency,
        billing_email=billing_email,
    )
    session.add(organization)
    await session.flush()
    return organization


async def update_company(
    session: AsyncSession, organization_id: UUID, update: CompanyUpdate
) -> Organization:
    organization = await OrganizationRepository(session, organization_id).current(for_update=True)
    changes = update.model_dump(exclude_unset=True)
    for field in NOT_NULLABLE:
        if field in changes and changes[field] is None:
            raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
    for field, value in changes.items():
        setattr(organization, "metadata_" if field == "metadata" else field, value)
    await session.flush()
    return organization


async def set_plan(
    session: AsyncSession, organization_id: UUID, plan: Plan, verifier: KeyVerifier
) -> Organization:
    organization = await OrganizationRepository(session, organization_id).current(for_update=True)
    organization.plan = plan
    await session.flush()
    # Cached keys carry the plan: drop them so the next request sees the new one.
    key_ids = await key_ids_of(session, organization_id)
    after_commit(session, lambda: verifier.forget(key_ids))
    return organization
