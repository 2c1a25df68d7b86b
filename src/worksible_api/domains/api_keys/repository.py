from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import Repository
from worksible_api.models import ApiKey, Organization


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey
    object_name = "API key"


async def key_ids_of(session: AsyncSession, organization_id: UUID) -> list[str]:
    """The keys of an organization and of its test twin (API.md §17), which shares its plan."""
    statement = (
        select(ApiKey.key_id)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(
            or_(
                Organization.id == organization_id,
                Organization.live_organization_id == organization_id,
            )
        )
    )
    return list((await session.execute(statement)).scalars())
