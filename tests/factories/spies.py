"""Counting the calls a request makes to a collaborator, without changing what they do."""

import inspect
from typing import Any

import pytest


def record_calls(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> list[tuple[Any, ...]]:
    """Wraps `owner.name` (a function or coroutine function) for the test; the list grows by
    each call's positional arguments."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(owner, name)
    if inspect.iscoroutinefunction(real):

        async def recorded_async(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return await real(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded_async)
    else:

        def recorded(*args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded)
    return calls
