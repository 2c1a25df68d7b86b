from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def insert_batch(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(insert(RequestLog), list(rows))


async def purge_older_than(session: AsyncSession, cutoff: datetime, batch: int = 10_000) -> int:
    doomed = select(RequestLog.id).where(RequestLog.created_at < cutoff).limit(batch)
    result = await session.execute(delete(RequestLog).where(RequestLog.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)
