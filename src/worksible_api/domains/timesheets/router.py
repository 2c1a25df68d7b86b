from typing import Annotated

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.timesheets.auth import TimesheetsRead, TimesheetsWrite
from worksible_api.domains.timesheets.repository import ClashRepository, TimesheetRepository
from worksible_api.domains.timesheets.schemas import (
    ClashStatus,
    TimesheetClashOut,
    TimesheetCreate,
    TimesheetOut,
    TimesheetReject,
    TimesheetStatus,
    TimesheetUpdate,
)
from worksible_api.domains.timesheets.service import TimesheetService
from worksible_api.kit.fields import QueryDate
from worksible_api.models import Timesheet, TimesheetClash
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/timesheets", tags=["Timesheets"], route_class=ApiRoute)


async def _service(principal: TimesheetsWrite, session: SessionDep) -> TimesheetService:
    return TimesheetService(session, principal.organization_id)


Service = Annotated[TimesheetService, Depends(_service)]
PathTimesheet = Annotated[Timesheet, Depends(path_object(TimesheetRepository, "timesheet_id"))]
# The entry named in the path, locked for the status change that follows.
LockedTimesheet = Annotated[
    Timesheet, Depends(path_object(TimesheetRepository, "timesheet_id", for_update=True))
]
PathClash = Annotated[TimesheetClash, Depends(path_object(ClashRepository, "clash_id"))]
FilterId = Annotated[str | None, Query(max_length=100)]


listing(
    router,
    response=TimesheetOut,
    principal=TimesheetsRead,
    repository=TimesheetRepository,
    query={
        "status": TimesheetStatus | None,
        "contract_id": FilterId,
        "freelancer_id": FilterId,
        "work_date_gte": Annotated[QueryDate | None, Query(description="On or after this date.")],
        "work_date_lt": Annotated[QueryDate | None, Query(description="Before this date.")],
    },
    name="list_timesheets",
    summary="List timesheet entries",
)


# Declared before /{timesheet_id}, which would otherwise take "clashes" for an entry's id.
listing(
    router,
    path="/clashes",
    response=TimesheetClashOut,
    principal=TimesheetsRead,
    repository=ClashRepository,
    query={"status": ClashStatus | None, "freelancer_id": FilterId},
    name="list_clashes",
    summary="List clashes",
)


retrieve(
    router,
    "/clashes/{clash_id}",
    response_model=TimesheetClashOut,
    principal=TimesheetsRead,
    path_object=PathClash,
    name="get_clash",
    summary="Retrieve a clash",
)


@router.post("", status_code=201, response_model=TimesheetOut, summary="Create a timesheet entry")
async def create_timesheet(service: Service, body: TimesheetCreate) -> TimesheetOut:
    return TimesheetOut.model_validate(await service.create(body))


retrieve(
    router,
    "/{timesheet_id}",
    response_model=TimesheetOut,
    principal=TimesheetsRead,
    path_object=PathTimesheet,
    name="get_timesheet",
    summary="Retrieve a timesheet entry",
)


@router.patch("/{timesheet_id}", response_model=TimesheetOut, summary="Update a timesheet entry")
async def update_timesheet(
    timesheet_id: str, service: Service, timesheet: PathTimesheet, body: TimesheetUpdate
) -> TimesheetOut:
    # Not locked here: a re-booking locks the freelancer and contract before the entry.
    return TimesheetOut.model_validate(await service.update(timesheet, body))


@router.post("/{timesheet_id}/submit", response_model=TimesheetOut, summary="Submit a draft entry")
async def submit_timesheet(
    timesheet_id: str, service: Service, timesheet: LockedTimesheet
) -> TimesheetOut:
    return TimesheetOut.model_validate(await service.submit(timesheet))


@router.post(
    "/{timesheet_id}/approve", response_model=TimesheetOut, summary="Approve a submitted entry"
)
async def approve_timesheet(
    timesheet_id: str, service: Service, timesheet: PathTimesheet
) -> TimesheetOut:
    # Not locked here: approving locks the freelancer (clashes), then the entry (lock order).
    return TimesheetOut.model_validate(await service.approve(timesheet))


@router.post(
    "/{timesheet_id}/reject", response_model=TimesheetOut, summary="Reject a submitted entry"
)
async def reject_timesheet(
    timesheet_id: str, service: Service, timesheet: PathTimesheet, body: TimesheetReject
) -> TimesheetOut:
    # Not locked here: rejecting locks the freelancer (clashes), then the entry (lock order).
    return TimesheetOut.model_validate(await service.reject(timesheet, body.reason))
