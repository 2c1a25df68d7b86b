"""Emitting an event (API.md §16): called by services where the state changes.

The event joins the caller's transaction, so it commits with the change or not at all. It
carries the object as the API returns it after the change: the service renders it with the
same response model the router uses.

The events of a transaction are inserted just before it commits, all of them in the one
statement a transaction ends with (db/transaction.py `insert_at_commit`): that statement is
what events cost a write (the ORM's unit of work would cost as much again).
"""

from uuid import UUID

import uuid_utils
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.db.transaction import RowsAtCommit, insert_at_commit
from worksible_api.domains.events.types import EventType

ID_PREFIX = "evt_"
_NEW_EVENTS = RowsAtCommit(
    "new_events",
    (("id", "varchar"), ("organization_id", "uuid"), ("type", "varchar"), ("data", "jsonb")),
    "INSERT INTO events (id, organization_id, type, data) SELECT * FROM {rows}",
)


def new_event_id() -> str:
    # uuid_utils' own UUID: its hex is made in Rust, without the standard UUID object.
    return f"{ID_PREFIX}{uuid_utils.uuid7().hex}"


def emit(session: AsyncSession, organization_id: UUID, type_: EventType, obj: BaseModel) -> None:
    """Adds the event to the session's transaction; it is written when the transaction
    commits. Not for use inside a savepoint that may roll back: the event would stay."""
    # The JSON written as pydantic writes the object (in Rust), as the API's answer does.
    data = f'{{"object":{obj.model_dump_json(by_alias=True)}}}'
    row = {
        "id": new_event_id(),
        "organization_id": organization_id,
        "type": type_.value,
        "data": data,
    }
    insert_at_commit(session, _NEW_EVENTS, row)
