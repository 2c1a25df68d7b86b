from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.auth.dependencies import AuthenticatedPrincipal
from worksible_api.domains.events.auth import EventsRead
from worksible_api.domains.events.repository import EventRepository
from worksible_api.domains.events.schemas import EventOut
from worksible_api.domains.events.types import EventType
from worksible_api.domains.webhooks.auth import WebhooksWrite
from worksible_api.domains.webhooks.service import redeliver
from worksible_api.errors import NotFound
from worksible_api.models import Event
from worksible_api.pipeline import ApiRoute, SessionDep
from worksible_api.pipeline.direct_reads import listing

router = APIRouter(prefix="/events", tags=["Events"], route_class=ApiRoute)


async def _path_event(
    event_id: str, principal: AuthenticatedPrincipal, session: SessionDep
) -> Event:
    found = await EventRepository(session, principal.organization_id).find_event(event_id[:40])
    if found is None:
        raise NotFound(f"No such event: {event_id}")
    return found


PathEvent = Annotated[Event, Depends(_path_event)]


listing(
    router,
    response=EventOut,
    principal=EventsRead,
    repository=EventRepository,
    query={"type": EventType | None},
    name="list_events",
    summary="List events",
    description="Every change of state of the last 30 days, newest first.",
)


@router.get("/{event_id}", response_model=EventOut, summary="Retrieve an event")
async def get_event(event_id: str, principal: EventsRead, event: PathEvent) -> EventOut:
    return EventOut.model_validate(event)


@router.post(
    "/{event_id}/redeliver",
    response_model=EventOut,
    summary="Send an event again",
    description="Delivers the event again to every enabled endpoint that subscribes to its "
    "type, as a new delivery with its own attempts (scope `webhooks:write`).",
)
async def redeliver_event(
    request: Request, event_id: str, principal: WebhooksWrite, session: SessionDep, event: PathEvent
) -> EventOut:
    await redeliver(session, request.app.state.webhook_queue, event)
    return EventOut.model_validate(event)
