from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from worksible_api.domains.clock_events.auth import ClockEventsRead
from worksible_api.domains.clock_events.repository import ClockEventRepository
from worksible_api.domains.clock_events.schemas import (
    ClockEventOut,
    ClockEventType,
    IngestBody,
    IngestResult,
)
from worksible_api.domains.clock_events.service import IngestService
from worksible_api.domains.kiosks.auth import AuthenticatedKiosk
from worksible_api.idempotency import service as idempotency
from worksible_api.models import ClockEvent
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/clock-events", tags=["Clock events"], route_class=ApiRoute)

PathClockEvent = Annotated[ClockEvent, Depends(path_object(ClockEventRepository, "clock_event_id"))]
FilterId = Annotated[str | None, Query(max_length=100)]


@router.post(
    "/ingest",
    response_model=IngestResult,
    summary="Send a batch of clock events (kiosk secret, no API key)",
)
async def ingest_clock_events(
    request: Request, caller: AuthenticatedKiosk, session: SessionDep, body: IngestBody
) -> IngestResult | Response:
    # The route class keeps Idempotency-Key for requests under an API key; a kiosk's keys
    # are the kiosk's own (API.md §5), so the claim is taken here.
    outcome = await idempotency.begin(
        request,
        session,
        request.app.state.idempotency_cache,
        caller.kiosk.organization_id,
        caller.credential,
    )
    if isinstance(outcome, Response):
        return outcome
    request.state.idempotency_claim = outcome
    # 200 whatever became of each event: the results say, one per event, in order.
    return await IngestService(session, caller.kiosk).ingest(body.events)


listing(
    router,
    response=ClockEventOut,
    principal=ClockEventsRead,
    repository=ClockEventRepository,
    query={"freelancer_id": FilterId, "kiosk_id": FilterId, "type": ClockEventType | None},
    name="list_clock_events",
    summary="List clock events",
)


retrieve(
    router,
    "/{clock_event_id}",
    response_model=ClockEventOut,
    principal=ClockEventsRead,
    path_object=PathClockEvent,
    name="get_clock_event",
    summary="Retrieve a clock event",
)
