"""A request's deadline (API.md §12): it bounds the service's waits on PostgreSQL and Redis,
never the client's upload."""

import asyncio
from collections.abc import Awaitable
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

    async def run(self, work: Awaitable[ResultT], request: Request) -> ResultT:
        """The work's result, or 503 once the time left has passed (API.md §12).

        The work runs in the calling task under a timer, as in `asyncio.timeout`. Against a
        frozen database every await just waits: past the deadline the task is cancelled where
        it waits, and the answer is a true 503, "nothing changed". What the cancelled work
        held is dropped after the answer, since dropping may wait on the same frozen server
        (db/session.py, db/rows.py). Once the commit has been sent its outcome decides the
        answer: the timer then lets the work finish. (A task of the work's own cost every
        request two more turns of the event loop: 7.6 % of a routed 404's instructions.)
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        expiry = _Expiry(request.scope["state"])
        timer = loop.call_at(started + self.left, expiry.fire)
        try:
            result = await work
        except BaseException:
            # Whatever the cancellation became on its way out is ours to answer, unless the
            # task was also cancelled from outside (the server stopping): that goes on.
            if expiry.fired and expiry.task.uncancel() == 0:
                raise ServiceUnavailable(
                    "The request could not finish in time and changed nothing; retry shortly."
                ) from None
            raise
        finally:
            timer.cancel()
            self.left -= loop.time() - started
        if expiry.fired:  # fired as the work ended: its cancellation never arrived
            expiry.task.uncancel()
        return result


class _Expiry:
    """Cancels the task it was made in when its timer fires, unless the commit was sent."""

    __slots__ = ("fired", "state", "task")

    def __init__(self, state: dict[str, Any]) -> None:
        task = asyncio.current_task()
        assert task is not None, "a deadline is awaited in a task"
        self.task = task
        self.state = state
        self.fired = False

    def fire(self) -> None:
        if self.state.get("committing", False):
            return
        self.fired = True
        self.task.cancel()


async def within_deadline(work: Awaitable[ResultT], request: Request) -> ResultT:
    """The work's result within the whole request deadline (`Deadline.run`)."""
    deadline = Deadline(request.app.state.settings.request_deadline_seconds)
    return await deadline.run(work, request)
