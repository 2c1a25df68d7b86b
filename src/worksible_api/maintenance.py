"""Periodic clean-up: expired idempotency records and request logs past their retention."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.db.transaction import commit
from worksible_api.domains.request_logs import repository as request_logs
from worksible_api.idempotency import repository as idempotency
from worksible_api.kit.time import utc_now

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0


async def purge_once(
    sessionmaker: async_sessionmaker[AsyncSession], request_log_retention: timedelta
) -> int:
    async with sessionmaker() as session:
        purged = await idempotency.purge_expired(session)
        purged += await request_logs.purge_older_than(session, utc_now() - request_log_retention)
        await commit(session)
        return purged


async def purge_forever(
    sessionmaker: async_sessionmaker[AsyncSession], request_log_retention: timedelta
) -> None:
    while True:
        try:
            await purge_once(sessionmaker, request_log_retention)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.warning("clean-up skipped, will retry: %r", exc)
        await asyncio.sleep(INTERVAL_SECONDS)
