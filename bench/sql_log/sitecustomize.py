"""Logs every statement the service sends to PostgreSQL: how bench/baseline.py's SQL is taken.

Put this directory first on PYTHONPATH of `worksible-api serve` (Python runs this file at
start-up in the supervisor and in every worker) and set BENCH_SQL_LOG to a directory: each
process appends one line per statement to `sql.<pid>.log` there, whitespace collapsed, as
`PREP` (asyncpg prepares it), `STMT` (SQLAlchemy runs a prepared statement: every execution,
also when SQLAlchemy's statement cache had it), `EXEC` (simple protocol: BEGIN, COMMIT) or
`MANY` (executemany). See docs/benchmark.md "The baseline's SQL".
"""

import os
from pathlib import Path
from typing import Any

import asyncpg.connection
import asyncpg.prepared_stmt

_log = (Path(os.environ.get("BENCH_SQL_LOG", ".")) / f"sql.{os.getpid()}.log").open(
    "a", buffering=1
)


def _write(kind: str, query: str) -> None:
    _log.write(f"{kind} {' '.join(query.split())}\n")


_connection = asyncpg.connection.Connection
_prepared = asyncpg.prepared_stmt.PreparedStatement
_get_statement, _execute, _many = (
    _connection._get_statement,
    _connection.execute,
    _connection.executemany,
)
_fetch = _prepared.fetch


async def _logged_get_statement(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    _write("PREP", query)
    return await _get_statement(self, query, *args, **kwargs)


async def _logged_execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    _write("EXEC", query)
    return await _execute(self, query, *args, **kwargs)


async def _logged_many(self: Any, command: str, *args: Any, **kwargs: Any) -> Any:
    _write("MANY", command)
    return await _many(self, command, *args, **kwargs)


async def _logged_fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
    _write("STMT", self._query)
    return await _fetch(self, *args, **kwargs)


_connection._get_statement = _logged_get_statement
_connection.execute = _logged_execute
_connection.executemany = _logged_many
_prepared.fetch = _logged_fetch
