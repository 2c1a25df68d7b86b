"""Records requests off the request path: an in-memory queue written in batches (API.md §8).

A request only appends to a deque. A background task writes batches every half second, so a
request is listed within 5 seconds; `stop()` writes whatever is left, so a clean shutdown
loses nothing. While PostgreSQL is down rows wait in memory, up to a bound.
"""

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.db.rows import DRIVER_ERRORS
from worksible_api.db.transaction import commit
from worksible_api.domains.request_logs import repository

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
BATCH_SIZE = 1000
MAX_PENDING = 200_000
# Failures that mean "PostgreSQL cannot take the batch now": it waits for the next flush.
UNAVAILABLE: tuple[type[Exception], ...] = (SQLAlchemyError, *DRIVER_ERRORS, OSError, TimeoutError)


class RequestLogWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._pending: deque[dict[str, Any]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()
        self.dropped = 0

    def record(self, row: dict[str, Any]) -> None:
        if len(self._pending) >= MAX_PENDING:
            # Keep the newest: the bound only bites when PostgreSQL has been away for long.
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(row)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="request-log-writer")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    async def flush(self) -> None:
        async with self._flushing:
            while self._pending:
                batch = [
                    self._pending.popleft() for _ in range(min(BATCH_SIZE, len(self._pending)))
                ]
                try:
                    async with self._sessionmaker() as session:
                        await repository.insert_batch(session, batch)
                        await commit(session)
                except UNAVAILABLE as exc:
                    self._pending.extendleft(reversed(batch))
                    logger.warning(
                        "request log not written yet (%d waiting): %r", len(self._pending), exc
                    )
                    return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
        if self._pending:
            logger.error(
                "request log: %d rows could not be written at shutdown", len(self._pending)
            )
