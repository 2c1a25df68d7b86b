from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.verifier import KeyVerifier
from worksible_api.db.session import after_commit
from worksible_api.domains.api_keys.repository import key_ids_of
from worksible_api.domains.organizations.repository import (
    FOLLOWED,
    OrganizationRepository,
    keep_twin_in_step,
)
from worksible_api.domains.organizations.schemas import CompanyUpdate
from worksible_api.errors import ValidationFailed
from worksible_api.kit.time_zones import DEFAULT_TIME_ZONE
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
    time_zone: str = DEFAULT_TIME_ZONE,
) -> Organization:
    organization = Organization(
        name=name,
        plan=plan,
        country=country,
        default_currency=default_currency,
        billing_email=billing_email,
        time_zone=time_zone,
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
    if not organization.livemode:
        for field in FOLLOWED:
            if field in changes:
                raise ValidationFailed.for_field(
                    ["body", field],
                    f"In test mode the {field} is the live organization's; change it there.",
                )
    for field, value in changes.items():
        setattr(organization, "metadata_" if field == "metadata" else field, value)
    await session.flush()
    await keep_twin_in_step(session, organization)
    return organization


async def set_plan(
    session: AsyncSession, organization_id: UUID, plan: Plan, verifier: KeyVerifier
) -> Organization:
    organization = await OrganizationRepository(session, organization_id).current(for_update=True)
    organization.plan = plan
    await session.flush()
    await keep_twin_in_step(session, organization)
    # Cached keys carry the plan: drop them, the twin's test keys too, so the next request
    # sees the new one.
    key_ids = await key_ids_of(session, organization_id)
    after_commit(session, lambda: verifier.forget(key_ids))
    return organization
