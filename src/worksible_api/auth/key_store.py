"""The API key rows authentication reads and touches. Not tenant-scoped: the key names its
tenant. The api_keys domain manages the same rows through its own repository."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.models import ApiKey, Organization

# Made once: building it for each call (its joins and comparisons coerced) was a tenth of a
# refused unknown key id's instructions.
_FOR_AUTHENTICATION = (
    select(ApiKey, Organization.plan)
    .join(Organization, Organization.id == ApiKey.organization_id)
    .where(ApiKey.key_id == bindparam("key_id"))
)


async def load_for_authentication(session: AsyncSession, key_id: str) -> tuple[ApiKey, str] | None:
    """The key with its organization's plan. `session` may run each statement on its own
    (a read session, db/session.py): this reads one row and writes nothing."""
    row = (await session.execute(_FOR_AUTHENTICATION, {"key_id": key_id})).one_or_none()
    return (row[0], row[1]) if row else None


async def touch_last_used(session: AsyncSession, api_key_id: UUID, ip: str, now: datetime) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == api_key_id)
        .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now))
        .values(last_used_at=now, last_used_ip=ip, updated_at=ApiKey.updated_at)
        .execution_options(synchronize_session=False)
    )
