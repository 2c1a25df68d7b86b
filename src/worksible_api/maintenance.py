"""Periodic work: clean-up (expired idempotency records, request logs past their retention,
finished jobs, idle dashboard sessions, old sign-in failures) and anything else that recurs."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.db.transaction import commit
from worksible_api.domains.events import repository as events
from worksible_api.domains.request_logs import repository as request_logs
from worksible_api.domains.users import repository as users
from worksible_api.domains.users.sign_in import SESSION_IDLE
from worksible_api.domains.webhooks import repository as webhooks
from worksible_api.idempotency import repository as idempotency
from worksible_api.jobs import repository as jobs
from worksible_api.kit.time import utc_now

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = 600.0


# Finished jobs are kept this long, for a look at what was delivered and what gave up.
JOB_RETENTION = timedelta(days=7)
SIGN_IN_FAILURE_RETENTION = timedelta(days=1)
# API.md §16: events are kept 30 days; their delivery attempts as long.
EVENT_RETENTION = timedelta(days=30)


async def purge_once(
    sessionmaker: async_sessionmaker[AsyncSession], request_log_retention: timedelta
) -> int:
    now = utc_now()
    async with sessionmaker() as session:
        purged = await idempotency.purge_expired(session)
        purged += await request_logs.purge_older_than(session, now - request_log_retention)
        purged += await jobs.purge_finished(session, now - JOB_RETENTION)
        purged += await users.purge_idle_sessions(session, now - SESSION_IDLE)
        purged += await users.purge_failures(session, now - SIGN_IN_FAILURE_RETENTION)
        purged += await events.purge_older_than(session, now - EVENT_RETENTION)
        purged += await webhooks.purge_attempts(session, now - EVENT_RETENTION)
        await commit(session)
        return purged


async def repeat_forever(
    action: Callable[[], Awaitable[object]], interval: float, what: str, first_after: float = 0.0
) -> None:
    """Runs `action` every `interval` seconds, the first time after `first_after`; a backing
    service away only skips a round."""
    await asyncio.sleep(first_after)
    while True:
        try:
            await action()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.warning("%s skipped, will retry: %r", what, exc)
        await asyncio.sleep(interval)


async def purge_forever(
    sessionmaker: async_sessionmaker[AsyncSession], request_log_retention: timedelta
) -> None:
    await repeat_forever(
        lambda: purge_once(sessionmaker, request_log_retention), INTERVAL_SECONDS, "clean-up"
    )
