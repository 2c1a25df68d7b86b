"""The API key rows authentication reads and touches. Not tenant-scoped: the key names its
tenant. The api_keys domain manages the same rows through its own repository."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.models import ApiKey, Organization


async def load_for_authentication(session: AsyncSession, key_id: str) -> tuple[ApiKey, str] | None:
    """The key with its organization's plan."""
    statement = (
        select(ApiKey, Organization.plan)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.key_id == key_id)
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1]) if row else None


async def touch_last_used(session: AsyncSession, api_key_id: UUID, ip: str, now: datetime) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == api_key_id)
        .where(or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now))
        .values(last_used_at=now, last_used_ip=ip, updated_at=ApiKey.updated_at)
        .execution_options(synchronize_session=False)
    )
