from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.transaction import RowsAtCommit, insert_at_commit, transaction_driver
from worksible_api.idempotency.stored import StoredResponse
from worksible_api.models import IdempotencyRecord

# Sent on the driver (db/transaction.py `transaction_driver`): through SQLAlchemy it cost an
# idempotent write ~4 % more instructions (docs/benchmark.md).
_LOCK_AND_FIND = """
    SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked,
           record.fingerprint, record.status_code, record.content_type, record.body,
           record.expires_at
    FROM (SELECT 1) AS one
    LEFT JOIN idempotency_records AS record
      ON record.scope = $2 AND record.key = $3 AND record.expires_at > now()
    """
# Inserted with the write's events, in the statement its transaction ends with: no round trip
# of its own. An expired record not yet purged gives way; a live one cannot exist under the lock.
_NEW_RECORD = RowsAtCommit(
    "new_idempotency_record",
    (
        ("scope", "varchar"),
        ("key", "varchar"),
        ("organization_id", "uuid"),
        ("fingerprint", "varchar"),
        ("status_code", "smallint"),
        ("content_type", "varchar"),
        ("body", "bytea"),
        ("expires_at", "timestamptz"),
    ),
    """INSERT INTO idempotency_records
        (scope, key, organization_id, fingerprint, status_code, content_type, body, created_at,
         expires_at)
    SELECT scope, key, organization_id, fingerprint, status_code, content_type, body, now(),
           expires_at
    FROM {rows}
    ON CONFLICT (scope, key) DO UPDATE
       SET organization_id = excluded.organization_id, fingerprint = excluded.fingerprint,
           status_code = excluded.status_code,
           content_type = excluded.content_type, body = excluded.body,
           created_at = excluded.created_at, expires_at = excluded.expires_at
     WHERE idempotency_records.expires_at <= now()""",
)


@dataclass(frozen=True)
class Kept:
    """A live record: the response and when it expires."""

    response: StoredResponse
    expires_at: datetime


async def lock_and_find(session: AsyncSession, scope: str, key: str) -> tuple[bool, Kept | None]:
    """Tries the key's in-flight lock and reads its live record, in one round trip.

    The lock is a transaction-scoped advisory lock: it is held exactly as long as the request's
    transaction, and PostgreSQL drops it with the connection if the worker dies, so a key is
    never stuck, and duplicates are refused even when Redis is down or was flushed.
    """
    driver = await transaction_driver(session)
    locked, fingerprint, status_code, content_type, body, expires_at = await driver.fetchrow(
        _LOCK_AND_FIND, f"idempotency:{scope}:{key}", scope, key
    )
    if fingerprint is None:
        return bool(locked), None
    return bool(locked), Kept(
        StoredResponse(fingerprint, status_code, content_type, body), expires_at
    )


def insert_record_at_commit(
    session: AsyncSession,
    organization_id: UUID,
    scope: str,
    key: str,
    stored: StoredResponse,
    expires_at: datetime,
) -> None:
    """The record joins what the transaction inserts when it commits (db/transaction.py)."""
    row = {
        "scope": scope,
        "key": key,
        "organization_id": organization_id,
        "fingerprint": stored.fingerprint,
        "status_code": stored.status_code,
        "content_type": stored.content_type,
        "body": stored.sealed_body,
        "expires_at": expires_at,
    }
    insert_at_commit(session, _NEW_RECORD, row)


async def purge_expired(session: AsyncSession, batch: int = 5000) -> int:
    doomed = (
        select(IdempotencyRecord.scope, IdempotencyRecord.key)
        .where(IdempotencyRecord.expires_at <= func.now())
        .limit(batch)
    )
    result = await session.execute(
        delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.scope, IdempotencyRecord.key).in_(doomed)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
