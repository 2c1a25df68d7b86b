from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.models import Job

_CLAIM = text(
    """
    UPDATE jobs SET locked_until = now() + :lease, attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM jobs
        WHERE status = 'pending' AND queue = ANY(:queues) AND run_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY run_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED)
    RETURNING id, queue, payload, attempts, max_attempts
    """
)
# Only the runner that made the attempt may settle it: after its lease ran out another runner
# may have claimed the job again (a new attempt number), and that one decides.
_DONE = text(
    """
    UPDATE jobs SET status = 'done', finished_at = now(), locked_until = NULL, last_error = NULL
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS smallint[])) AS done(id, attempt)
    WHERE jobs.id = done.id AND jobs.attempts = done.attempt AND jobs.status = 'pending'
    """
)
_FAILED = text(
    """
    UPDATE jobs
       SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
           finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
           run_at = now() + :delay, locked_until = NULL, last_error = :error
    WHERE id = :id AND attempts = :attempt AND status = 'pending'
    RETURNING status
    """
)


@dataclass(frozen=True)
class Claimed:
    id: UUID
    queue: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


def add(
    session: AsyncSession,
    queue: str,
    payload: dict[str, Any],
    max_attempts: int,
    run_at: datetime | None,
) -> None:
    """Adds a job to the session: written with its next flush (many in one statement)."""
    job = Job(queue=queue, payload=payload, max_attempts=max_attempts)
    if run_at is not None:
        job.run_at = run_at
    session.add(job)


async def add_now(
    session: AsyncSession, queue: str, payloads: Sequence[dict[str, Any]], max_attempts: int
) -> None:
    """Writes many jobs due now, at once, in one statement."""
    if payloads:
        await session.execute(
            insert(Job),
            [{"queue": queue, "payload": p, "max_attempts": max_attempts} for p in payloads],
        )


async def claim(
    session: AsyncSession, queues: Sequence[str], lease: timedelta, batch: int
) -> list[Claimed]:
    rows = await session.execute(_CLAIM, {"queues": list(queues), "lease": lease, "batch": batch})
    return [Claimed(row.id, row.queue, row.payload, row.attempts, row.max_attempts) for row in rows]


async def mark_done(session: AsyncSession, jobs: Sequence[Claimed]) -> None:
    """Settles a batch's successful attempts in one statement."""
    await session.execute(
        _DONE, {"ids": [job.id for job in jobs], "attempts": [job.attempt for job in jobs]}
    )


async def mark_failed(
    session: AsyncSession, job: Claimed, delay: timedelta, error: str
) -> str | None:
    """Schedules the next attempt, or gives up after the last; the job's status after."""
    result = await session.execute(
        _FAILED, {"id": job.id, "attempt": job.attempt, "delay": delay, "error": error[:2000]}
    )
    return result.scalar_one_or_none()


async def purge_finished(session: AsyncSession, before: datetime, batch: int = 5000) -> int:
    result = await session.execute(
        text(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status <> 'pending' "
            "AND finished_at < :before LIMIT :batch)"
        ),
        {"before": before, "batch": batch},
    )
    return int(getattr(result, "rowcount", 0) or 0)
