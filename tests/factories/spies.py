"""Counting the calls a request makes to a collaborator, or the statements it sends through
SQLAlchemy, without changing what they do."""

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy import event


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


@contextmanager
def statements_on(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app sends through SQLAlchemy while the block runs (not those a
    direct read, a compiled page or a statement made for the driver sends to asyncpg itself:
    `every_statement_on`)."""
    sent: list[str] = []
    with _through_sqlalchemy(app, sent):
        yield sent


@contextmanager
def every_statement_on(app: FastAPI) -> Iterator[list[str]]:
    """The SQL the app sends while the block runs, in the order sent: through SQLAlchemy, and
    on asyncpg connections directly (statements made for the driver, a transaction's BEGIN
    and COMMIT)."""
    sent: list[str] = []
    with _through_sqlalchemy(app, sent), _on_the_driver(sent):
        yield sent


@contextmanager
def _through_sqlalchemy(app: FastAPI, sent: list[str]) -> Iterator[None]:
    def record(*args: Any) -> None:
        sent.append(args[2])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def _on_the_driver(sent: list[str]) -> Iterator[None]:
    # SQLAlchemy's own statements go through prepared statements, not these methods.
    def spying(real: Any) -> Any:
        async def spy(connection: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(query)
            return await real(connection, query, *args, **kwargs)

        return spy

    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            patch.setattr(asyncpg.Connection, name, spying(getattr(asyncpg.Connection, name)))
        yield
