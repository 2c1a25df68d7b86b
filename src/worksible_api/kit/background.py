"""Work finished after the answer: a task kept referenced until it ends, its failure logged."""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)

# The event loop keeps only weak references to tasks: these keep them until they end.
_RUNNING: set["asyncio.Task[Any]"] = set()


def finish_in_background(work: Coroutine[Any, Any, Any], name: str) -> None:
    task = asyncio.get_running_loop().create_task(work, name=name)
    _RUNNING.add(task)
    task.add_done_callback(_ended)


def _ended(task: "asyncio.Task[Any]") -> None:
    _RUNNING.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.warning("%s failed after the answer", task.get_name(), exc_info=task.exception())
