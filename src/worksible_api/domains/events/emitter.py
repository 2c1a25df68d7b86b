"""Emitting an event (API.md §16): called by services where the state changes.

The event joins the caller's transaction, so it commits with the change or not at all. It
carries the object as the API returns it after the change: the service renders it with the
same response model the router uses.

The events of a transaction are written just before it commits, all in one INSERT: that is
the one statement an event costs a write (the ORM's unit of work would cost as much again).
"""

from typing import Any, cast
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from uuid_utils.compat import uuid7

from worksible_api.domains.events.types import EventType
from worksible_api.models import Event

ID_PREFIX = "evt_"
# The events of the session's transaction not yet written, in `session.info`.
_PENDING = "events_pending"
# On the table itself, not the mapped class: a plain INSERT, no ORM bookkeeping; made once,
# so its cache key is computed once.
_WRITE_EVENTS = insert(cast(Table, Event.__table__))


def new_event_id() -> str:
    return f"{ID_PREFIX}{uuid7().hex}"


def rendered(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def emit(session: AsyncSession, organization_id: UUID, type_: EventType, obj: BaseModel) -> None:
    """Adds the event to the session's transaction; it is written when the transaction
    commits. Not for use inside a savepoint that may roll back: the event would stay."""
    if not session.in_transaction():
        # The event belongs to a transaction even before its first query: one rolled back
        # takes the event with it.
        session.sync_session.begin()
    pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
    pending.append(
        {
            "id": new_event_id(),
            "organization_id": organization_id,
            "type": type_.value,
            "data": {"object": rendered(obj)},
        }
    )


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        # One event, the usual case, is one execution, not a batch of one (executemany).
        session.execute(_WRITE_EVENTS, pending[0] if len(pending) == 1 else pending)


def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # The transaction ended without writing them: it rolled back, and they go with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_transaction_end", _forget_pending)
