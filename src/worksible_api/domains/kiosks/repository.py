from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.repository import Repository
from worksible_api.models import Kiosk, Organization

# last_seen_at is kept to the minute: one UPDATE per kiosk per minute at most, so batches
# from one kiosk do not queue on its row.
SEEN_RESOLUTION = timedelta(minutes=1)


class KioskRepository(Repository[Kiosk]):
    model = Kiosk
    object_name = "kiosk"

    def filtered(self, *, status: str | None) -> Select[Kiosk]:
        statement = self.scoped()
        if status is not None:
            statement = statement.where(Kiosk.status == status)
        return statement


async def load_for_secret(session: AsyncSession, secret_id: str) -> tuple[Kiosk, str, bool] | None:
    """The kiosk a presented secret names, with its organization's plan and mode; not
    tenant-scoped, since the kiosk names the tenant."""
    statement = (
        select(Kiosk, Organization.plan, Organization.livemode)
        .join(Organization, Organization.id == Kiosk.organization_id)
        .where(Kiosk.secret_id == secret_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def touch_last_seen(session: AsyncSession, kiosk_id: UUID, now: datetime) -> None:
    await session.execute(
        update(Kiosk)
        .where(Kiosk.id == kiosk_id)
        .where(or_(Kiosk.last_seen_at.is_(None), Kiosk.last_seen_at < now - SEEN_RESOLUTION))
        .values(last_seen_at=now, updated_at=Kiosk.updated_at)
        .execution_options(synchronize_session=False)
    )
