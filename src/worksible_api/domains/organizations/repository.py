from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import Repository
from worksible_api.models import Organization


class OrganizationRepository(Repository[Organization]):
    """The caller's own organization: the tenant is the row itself."""

    model = Organization
    object_name = "organization"

    def scoped(self) -> Select[Organization]:
        return select(Organization).where(Organization.id == self.organization_id)

    async def current(self, *, for_update: bool = False) -> Organization:
        return await self.get(self.organization_id, for_update=for_update)


DEMO_MARKER = {"worksible_demo": "true"}


async def find_demo_organization(session: AsyncSession) -> Organization | None:
    statement = (
        select(Organization)
        .where(Organization.metadata_.contains(DEMO_MARKER))
        .order_by(Organization.created_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
