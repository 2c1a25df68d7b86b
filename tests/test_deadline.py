"""A request's deadline (pipeline/deadline.py, API.md §12): work done in time is answered,
work past it is cancelled and answered 503 at once, and work whose commit has been sent is
waited for."""

import asyncio
import time

import pytest
from starlette.requests import Request

from worksible_api.errors import ServiceUnavailable
from worksible_api.pipeline.deadline import Deadline, within_deadline


def _request() -> Request:
    return Request({"type": "http", "state": {}})


async def _after(seconds: float, value: str = "done") -> str:
    await asyncio.sleep(seconds)
    return value


async def test_work_done_in_time_is_its_answer() -> None:
    assert await within_deadline(asyncio.create_task(_after(0.01)), _request(), 1.0) == "done"


async def test_work_already_done_is_its_answer() -> None:
    work = asyncio.create_task(_after(0))
    await work
    assert await within_deadline(work, _request(), 0) == "done"


async def test_work_that_fails_in_time_raises_its_own_error() -> None:
    async def failing() -> None:
        raise LookupError("its own")

    with pytest.raises(LookupError, match="its own"):
        await within_deadline(asyncio.create_task(failing()), _request(), 1.0)


async def test_work_past_the_deadline_is_cancelled_and_answered_503_at_once() -> None:
    work = asyncio.create_task(_after(30))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await within_deadline(work, _request(), 0.05)
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0)
    assert work.cancelled()


async def test_work_whose_commit_was_sent_is_waited_for() -> None:
    request = _request()
    request.state.committing = True
    assert await within_deadline(asyncio.create_task(_after(0.2)), request, 0.05) == "done"


async def test_a_deadline_is_spent_across_its_steps() -> None:
    deadline = Deadline(0.3)
    assert await deadline.run(_after(0.2, "first"), _request()) == "first"
    with pytest.raises(ServiceUnavailable):
        await deadline.run(_after(0.2, "second"), _request())
