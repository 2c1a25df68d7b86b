from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from worksible_api.db.repository import Repository
from worksible_api.models import RequestLog


class RequestLogRepository(Repository[RequestLog]):
    model = RequestLog
    object_name = "request log"

    def filtered(
        self,
        *,
        status: int | None,
        method: str | None,
        path_prefix: str | None,
        api_key_id: str | None,
    ) -> Select[RequestLog]:
        statement = self.scoped()
        if status is not None:
            statement = statement.where(RequestLog.status == status)
        if method is not None:
            statement = statement.where(RequestLog.method == method)
        if path_prefix is not None:
            escaped = path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(RequestLog.path.like(f"{escaped}%", escape="\\"))
        if api_key_id is not None:
            statement = statement.where(RequestLog.api_key_id == api_key_id)
        return statement


# The columns a recorded request fills; the id is made here, as the ORM would.
_FIELDS = [column.name for column in RequestLog.__table__.columns if column.name != "id"]


async def insert_batch(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Writes `rows` with COPY: one request makes one row, and COPY costs both sides a fraction
    of an INSERT per row. It runs on the session's connection as a statement of its own."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    records = [(uuid7(), *(row[field] for field in _FIELDS)) for row in rows]
    await driver.copy_records_to_table(
        RequestLog.__tablename__, columns=["id", *_FIELDS], records=records
    )


async def purge_older_than(session: AsyncSession, cutoff: datetime, batch: int = 10_000) -> int:
    doomed = select(RequestLog.id).where(RequestLog.created_at < cutoff).limit(batch)
    result = await session.execute(delete(RequestLog).where(RequestLog.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)
