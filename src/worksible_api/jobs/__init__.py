"""Durable jobs (API.md §15, §16): recorded in the business transaction, run at least once,
one claimant at a time, retried with growing delays.

Why not a library: procrastinate keeps its jobs in PostgreSQL but writes them over psycopg,
so a job could not commit in the same (asyncpg) transaction as the change that calls for it;
arq and saq keep jobs in Redis, where an outage loses them. A table claimed with
`FOR UPDATE SKIP LOCKED` is the rule itself in a few statements (docs/decisions.md).

- `enqueue` adds a job in the caller's transaction: it exists exactly when its cause does.
- `JobRunner` (one per process, started by the app's lifespan and by `worksible-api`
  commands) claims due jobs of its queues a batch at a time: a claim takes a lease and counts
  the attempt, atomically, so two instances never make the same attempt. Up to
  `max_batches` batches run at once, so one slow batch (an endpoint that takes its full
  timeout) does not hold up the others. Handlers run outside any transaction; success marks
  the job done, failure schedules the next attempt after its queue's delay, or gives up
  after the last one (the handler's queue is told). A queue handles a job at a time, or a
  whole batch when it can do its database work for many jobs in a few statements (webhooks).
- A runner killed mid-job leaves its lease to run out; the job is then claimed again.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.jobs import repository
from worksible_api.jobs.repository import Claimed
from worksible_api.kit.background import BackgroundTasks

logger = logging.getLogger(__name__)

# A job's payload and the number of this attempt (1 for the first).
Handler = Callable[[dict[str, Any], int], Awaitable[None]]
# A batch of one queue's claimed jobs; for each job, in order: None when it succeeded, else
# why it failed.
BatchHandler = Callable[[Sequence[Claimed]], Awaitable[Sequence[str | None]]]
GiveUp = Callable[[dict[str, Any], str], Awaitable[None]]


@dataclass(frozen=True)
class Queue:
    """How one kind of job runs: its handler (one job at a time, or a batch), its retry delays,
    and how long a run may take."""

    name: str
    # The delay before attempt n + 1 is delays[min(n, len) - 1]; attempts stop at max_attempts.
    delays: Sequence[timedelta]
    max_attempts: int
    # A run (of a job, or of a batch) is cut off after this; the lease is longer, so no other
    # runner claims it meanwhile.
    timeout: timedelta
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None
    # Called once when the last attempt failed.
    gave_up: GiveUp | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch_handler is None):
            raise ValueError(f"queue {self.name}: give a handler or a batch handler")

    def delay_after(self, attempt: int) -> timedelta:
        return self.delays[min(attempt, len(self.delays)) - 1]

    @property
    def lease(self) -> timedelta:
        return self.timeout * 2 + timedelta(seconds=10)


def enqueue(
    session: AsyncSession,
    queue: Queue,
    payload: dict[str, Any],
    run_at: datetime | None = None,
) -> None:
    """A job of `queue`, written with the caller's transaction (at its next flush)."""
    repository.add(session, queue.name, payload, queue.max_attempts, run_at)


async def enqueue_now(
    session: AsyncSession, queue: Queue, payloads: Sequence[dict[str, Any]]
) -> None:
    """Many jobs of `queue`, due now, written at once in the caller's transaction."""
    await repository.add_now(session, queue.name, payloads, queue.max_attempts)


class Poller:
    """Runs `step` over and over until stopped, pausing `poll_seconds` whenever it found no
    work: one loop shape for every background worker of the service."""

    def __init__(self, name: str, step: Callable[[], Awaitable[int]], poll_seconds: float) -> None:
        self._name = name
        self._step = step
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                found = await self._step()
            except Exception as exc:  # the database is away: try again shortly
                logger.warning("%s: %r", self._name, exc)
                found = 0
            if not found:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll_seconds)

    async def stop(self) -> None:
        """Lets the work in hand finish (a job's lease would otherwise hold it back)."""
        self._stopping.set()
        if self._task is not None:
            await self._task


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "TimeoutError: the run took longer than its queue allows"
    return f"{type(exc).__name__}: {exc}"


class JobRunner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        queues: Sequence[Queue],
        *,
        batch: int = 50,
        max_batches: int = 4,
        poll_seconds: float = 0.5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._queues = {queue.name: queue for queue in queues}
        self._batch = batch
        self._slots = asyncio.Semaphore(max_batches)
        self._batches = BackgroundTasks()
        self.poller = Poller("job-runner", self.run_due, poll_seconds)

    async def run_due(self) -> int:
        """Claims a batch of due jobs and starts it; how many were claimed. Waits first while
        `max_batches` batches are running."""
        await self._slots.acquire()
        try:
            claimed = await self._claim()
        except BaseException:
            self._slots.release()
            raise
        if not claimed:
            self._slots.release()
            return 0
        self._batches.start(self._run_batch(claimed), "job-batch")
        return len(claimed)

    async def drain(self) -> None:
        """Runs due jobs until none is left (jobs retried later stay for later)."""
        while await self.run_due():
            await self._batches.settle()

    async def stop(self) -> None:
        """Claims no more, and lets the batches in hand finish (their leases would otherwise
        hold the jobs back)."""
        await self.poller.stop()
        await self._batches.settle()

    async def _claim(self) -> list[Claimed]:
        lease = max(queue.lease for queue in self._queues.values())
        async with self._sessionmaker() as session:
            claimed = await repository.claim(session, list(self._queues), lease, self._batch)
            await session.commit()
        return claimed

    async def _run_batch(self, claimed: list[Claimed]) -> None:
        try:
            by_queue: dict[str, list[Claimed]] = {}
            for job in claimed:
                by_queue.setdefault(job.queue, []).append(job)
            outcomes = await asyncio.gather(
                *(self._run_queue(self._queues[name], jobs) for name, jobs in by_queue.items())
            )
            await self._settle([pair for ran in outcomes for pair in ran])
        except Exception as exc:  # the database went away: the leases run out, jobs run again
            logger.warning("job batch not settled: %r", exc)
        finally:
            self._slots.release()

    async def _run_queue(
        self, queue: Queue, jobs: list[Claimed]
    ) -> list[tuple[Claimed, str | None]]:
        if queue.batch_handler is not None:
            try:
                async with asyncio.timeout(queue.timeout.total_seconds()):
                    outcomes = list(await queue.batch_handler(jobs))
            except Exception as exc:
                outcomes = [_reason(exc)] * len(jobs)
            return list(zip(jobs, outcomes, strict=True))
        failures = await asyncio.gather(*(self._run_one(queue, job) for job in jobs))
        return list(zip(jobs, failures, strict=True))

    async def _run_one(self, queue: Queue, job: Claimed) -> str | None:
        assert queue.handler is not None
        try:
            async with asyncio.timeout(queue.timeout.total_seconds()):
                await queue.handler(job.payload, job.attempt)
        except Exception as exc:
            return _reason(exc)
        return None

    async def _settle(self, outcomes: list[tuple[Claimed, str | None]]) -> None:
        """Marks the batch's jobs done, or failed (to be retried or given up), in one
        transaction; tells the queues of the jobs given up after it commits."""
        succeeded = [job for job, failure in outcomes if failure is None]
        failed = [(job, failure) for job, failure in outcomes if failure is not None]
        dead: list[tuple[Claimed, str]] = []
        async with self._sessionmaker() as session:
            if succeeded:
                await repository.mark_done(session, succeeded)
            for job, error in failed:
                logger.warning(
                    "job %s (%s) attempt %d failed: %s", job.id, job.queue, job.attempt, error
                )
                queue = self._queues[job.queue]
                status = await repository.mark_failed(
                    session, job, queue.delay_after(job.attempt), error
                )
                if status == "dead":
                    dead.append((job, error))
            await session.commit()
        for job, error in dead:
            gave_up = self._queues[job.queue].gave_up
            if gave_up is not None:
                await gave_up(job.payload, error)
