from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from worksible_api.models import ApiKey, Notice, Organization

# One planner at a time across instances; the unique constraint would stop duplicates anyway,
# this saves the second one the work.
_PLANNER_LOCK = "notices-planner"


async def try_planner_lock(session: AsyncSession) -> bool:
    statement = select(func.pg_try_advisory_xact_lock(func.hashtextextended(_PLANNER_LOCK, 0)))
    return bool((await session.execute(statement)).scalar_one())


@dataclass(frozen=True)
class ContactKey:
    """An active key and the address told about it."""

    api_key: ApiKey
    organization_name: str
    address: str

    @property
    def id(self) -> UUID:
        return self.api_key.id

    @property
    def organization_id(self) -> UUID:
        return self.api_key.organization_id

    @property
    def name(self) -> str:
        return self.api_key.name

    @property
    def expires_at(self) -> datetime:
        return self.api_key.expires_at

    @property
    def prefix(self) -> str:
        return self.api_key.prefix


async def active_keys_with_contacts(session: AsyncSession, now: datetime) -> list[ContactKey]:
    """Every key neither revoked nor expired whose billing contact is known: its own, or its
    organization's billing email."""
    address = func.coalesce(ApiKey.billing_contact, Organization.billing_email)
    statement = (
        select(ApiKey, Organization.name, address)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.revoked_at.is_(None), ApiKey.expires_at > now, address.is_not(None))
        .order_by(ApiKey.organization_id, ApiKey.created_at)
    )
    return [ContactKey(*row) for row in await session.execute(statement)]


@dataclass(frozen=True)
class Recorded:
    notice_id: UUID
    # No notice of the same kind, subject and stage was recorded before, for any address.
    first_of_stage: bool


async def record(session: AsyncSession, notice: dict[str, object]) -> Recorded | None:
    """Records a notice unless it exists already; what was recorded now, if anything."""
    earlier = aliased(Notice)
    # Evaluated on the statement's snapshot, which does not hold the row it inserts.
    first_of_stage = ~exists().where(
        earlier.organization_id == notice["organization_id"],
        earlier.kind == notice["kind"],
        earlier.subject == notice["subject"],
        earlier.stage == notice["stage"],
    )
    statement = (
        insert(Notice)
        .values(**notice)
        .on_conflict_do_nothing(
            index_elements=["organization_id", "kind", "subject", "stage", "address"]
        )
        .returning(Notice.id, first_of_stage)
    )
    row = (await session.execute(statement)).one_or_none()
    return Recorded(row[0], row[1]) if row is not None else None


async def find(session: AsyncSession, notice_id: UUID) -> Notice | None:
    return await session.get(Notice, notice_id)


async def find_to_send(session: AsyncSession, notice_id: UUID) -> tuple[Notice, bool] | None:
    """The notice and whether its organization is live (a test twin's is never mailed)."""
    statement = (
        select(Notice, Organization.livemode)
        .join(Organization, Organization.id == Notice.organization_id)
        .where(Notice.id == notice_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def mark_sent(session: AsyncSession, notice_id: UUID, now: datetime) -> None:
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "pending")
        .values(status="sent", sent_at=now)
    )


async def mark_failed(session: AsyncSession, notice_id: UUID) -> None:
    await session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.status == "pending")
        .values(status="failed")
    )


async def of_organization(
    session: AsyncSession, organization_id: UUID, limit: int
) -> Sequence[Notice]:
    statement = (
        select(Notice)
        .where(Notice.organization_id == organization_id, Notice.status != "superseded")
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def pending_count(session: AsyncSession) -> int:
    return int(
        (
            await session.execute(text("SELECT count(*) FROM notices WHERE status = 'pending'"))
        ).scalar_one()
    )
