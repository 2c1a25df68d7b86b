from uuid import UUID

from sqlalchemy import ScalarSelect, Select, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from worksible_api.db.repository import ACTING_ORGANIZATION, Repository
from worksible_api.models import Organization


class OrganizationRepository(Repository[Organization]):
    """The caller's own organization: the tenant is the row itself."""

    model = Organization
    object_name = "organization"

    def scoped(self) -> Select[Organization]:
        return select(Organization).where(Organization.id == self.organization_id)

    async def current(self, *, for_update: bool = False) -> Organization:
        return await self.get(self.organization_id, for_update=for_update)


# The acting organization's default currency, read by PostgreSQL within the statement that
# needs it (a create's default) instead of by a query before it. It names the organization as
# a parameter that Repository.insert binds, so it is one expression for every organization.
ORGANIZATION_DEFAULT_CURRENCY: ScalarSelect[str] = (
    select(Organization.default_currency)
    .where(Organization.id == ACTING_ORGANIZATION)
    .scalar_subquery()
)


DEMO_MARKER = {"worksible_demo": "true"}


async def find_demo_organization(session: AsyncSession) -> Organization | None:
    statement = (
        select(Organization)
        .where(Organization.metadata_.contains(DEMO_MARKER))
        .order_by(Organization.created_at)
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


# What a test twin takes from its live organization, now and whenever it changes (API.md §17):
# test mode runs under the same plan, name and time zone (the day its clock events belong to).
# The twin's other settings are its own test data.
FOLLOWED = ("name", "plan", "time_zone")


async def twin_of(session: AsyncSession, live_organization_id: UUID) -> Organization | None:
    statement = select(Organization).where(
        Organization.live_organization_id == live_organization_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def ensure_twin(session: AsyncSession, live: Organization) -> Organization:
    """The test twin of `live`, made now if it has none, in the caller's transaction.

    Two first test keys at once make one twin: the second INSERT waits on the unique
    `live_organization_id` until the first commits, then does nothing and reads that one.
    The live row is share-locked first, so a plan or name change cannot slip in between the
    copy and the commit: it waits, then finds the twin to keep in step.
    """
    locked = select(Organization).where(Organization.id == live.id).with_for_update(read=True)
    live = (await session.execute(locked.execution_options(populate_existing=True))).scalar_one()
    await session.execute(
        insert(Organization)
        .values(
            id=uuid7(),
            livemode=False,
            live_organization_id=live.id,
            country=live.country,
            default_currency=live.default_currency,
            billing_email=live.billing_email,
            **{field: getattr(live, field) for field in FOLLOWED},
        )
        .on_conflict_do_nothing(index_elements=["live_organization_id"])
    )
    twin = await twin_of(session, live.id)
    assert twin is not None, "the twin was just made, or another transaction's committed"
    return twin


async def keep_twin_in_step(session: AsyncSession, live: Organization) -> None:
    """Copies what the twin follows from `live` (no twin: nothing to do)."""
    await session.execute(
        update(Organization)
        .where(Organization.live_organization_id == live.id)
        .values({field: getattr(live, field) for field in FOLLOWED})
        .execution_options(synchronize_session=False)
    )
