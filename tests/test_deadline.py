"""A request's deadline (pipeline/deadline.py, API.md §12): work done in time is answered,
work past it is cancelled where it waits and answered 503 at once, and work whose commit has
been sent is waited for."""

import asyncio
import time

import pytest
from starlette.requests import Request

from worksible_api.errors import ServiceUnavailable
from worksible_api.pipeline.deadline import Deadline


def _request() -> Request:
    return Request({"type": "http", "state": {}})


async def _after(seconds: float, value: str = "done") -> str:
    await asyncio.sleep(seconds)
    return value


async def test_work_done_in_time_is_its_answer() -> None:
    assert await Deadline(1.0).run(_after(0.01), _request()) == "done"


async def test_work_that_never_waits_is_its_answer_even_with_no_time_left() -> None:
    async def at_once() -> str:
        return "done"

    assert await Deadline(0).run(at_once(), _request()) == "done"


async def test_work_that_fails_in_time_raises_its_own_error() -> None:
    async def failing() -> None:
        raise LookupError("its own")

    with pytest.raises(LookupError, match="its own"):
        await Deadline(1.0).run(failing(), _request())


async def test_work_past_the_deadline_is_cancelled_and_answered_503_at_once() -> None:
    cancelled = []

    async def waits_long() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await Deadline(0.05).run(waits_long(), _request())
    assert time.monotonic() - started < 1.0
    assert cancelled == [True]
    # The task that ran it is not left marked as cancelled: it goes on to answer.
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)


async def test_whatever_the_cancellation_became_is_answered_503() -> None:
    async def converts() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError as exc:
            raise ConnectionError("the driver's own error for it") from exc

    with pytest.raises(ServiceUnavailable):
        await Deadline(0.05).run(converts(), _request())


async def test_work_whose_commit_was_sent_is_waited_for() -> None:
    request = _request()
    request.state.committing = True
    assert await Deadline(0.05).run(_after(0.2), request) == "done"


async def test_a_deadline_is_spent_across_its_steps() -> None:
    deadline = Deadline(0.3)
    assert await deadline.run(_after(0.2, "first"), _request()) == "first"
    with pytest.raises(ServiceUnavailable):
        await deadline.run(_after(0.2, "second"), _request())


async def test_a_cancellation_from_outside_is_not_a_503() -> None:
    async def request_task() -> None:
        await Deadline(0.2).run(_after(30), _request())

    task = asyncio.create_task(request_task())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
