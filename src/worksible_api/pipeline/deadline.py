"""A request's deadline (API.md §12): it bounds the service's waits on PostgreSQL and Redis,
never the client's upload."""

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

from worksible_api.errors import ServiceUnavailable

ResultT = TypeVar("ResultT")


class Deadline:
    """What is left of a request's time to wait on PostgreSQL and Redis (API.md §12).

    Spent only while the service works on the request, never while the client uploads its
    body: a request may take as long as its client needs, and still answers within the
    deadline of the moment its body has arrived.
    """

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    async def run(self, work: Coroutine[Any, Any, ResultT], request: Request) -> ResultT:
        started = time.monotonic()
        try:
            return await within_deadline(asyncio.create_task(work), request, self.left)
        finally:
            self.left -= time.monotonic() - started


async def within_deadline(
    work: "asyncio.Future[ResultT]", request: Request, seconds: float | None = None
) -> ResultT:
    """The work's result, or 503 once `seconds` (the request deadline) pass (API.md §12).

    Against a frozen database every await just waits, and asyncpg's own timeout then waits
    again for its cancel request. Past the deadline the work is cancelled and left to clean up
    in the background: it has not committed, so the 503 is true, "nothing changed". Once the
    commit has been sent its outcome decides the answer, so that is awaited instead.
    """
    if seconds is None:
        seconds = request.app.state.settings.request_deadline_seconds
    await _until_done(work, seconds)
    if work.done() or request.scope["state"].get("committing", False):
        return await work
    work.cancel()
    work.add_done_callback(_consume_outcome)
    raise ServiceUnavailable(
        "The request could not finish in time and changed nothing; retry shortly."
    )


async def _until_done(work: "asyncio.Future[Any]", seconds: float) -> None:
    """Returns when `work` is done or `seconds` have passed, whichever is first: what
    `asyncio.wait({work}, timeout=seconds)` does for one future, without its checks and sets
    (every request waits here)."""
    if work.done():
        return
    woken = work.get_loop().create_future()

    def wake(_: object = None) -> None:
        if not woken.done():
            woken.set_result(None)

    timer = woken.get_loop().call_later(max(seconds, 0), wake)
    work.add_done_callback(wake)
    try:
        await woken
    finally:
        timer.cancel()
        work.remove_done_callback(wake)


def _consume_outcome(work: "asyncio.Future[Any]") -> None:
    if not work.cancelled():
        work.exception()
