"""Work started and not waited for: a write after a request's answer, a batch of jobs.

The event loop holds tasks only weakly: each task here is kept until it ends, and `settle`
waits for those under way (at shutdown, before what they use is closed; in tests, before
looking at what they write). The work handles its own failures: nobody awaits its result.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def settle(self) -> None:
        """Waits until none is running, those started while it waits included."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
