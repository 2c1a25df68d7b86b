from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI

from tests.factories.rows import insert
from worksible_api.models import Contract, Timesheet


async def create_timesheet(app: FastAPI, contract: Contract, **fields: Any) -> Timesheet:
    """An approved 60-minute entry on 2026-03-02 unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "work_date": date(2026, 3, 2),
        "minutes": 60,
        "status": "approved",
        **fields,
    }
    timesheet = Timesheet(
        organization_id=contract.organization_id,
        contract_id=contract.id,
        freelancer_id=contract.freelancer_id,
        **values,
    )
    return await insert(app, timesheet)


def utc(moment: str) -> datetime:
    """`2026-03-02T09:00` (or with an offset) as an aware datetime, UTC when none is given."""
    parsed = datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def timed_body(contract: Contract, started_at: str, ended_at: str, **fields: Any) -> dict[str, Any]:
    """A POST /v1/timesheets body for started_at..ended_at, its minutes and UTC work date."""
    start, end = utc(started_at), utc(ended_at)
    return {
        "contract_id": str(contract.id),
        "work_date": start.astimezone(UTC).date().isoformat(),
        "minutes": round((end - start).total_seconds() / 60),
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        **fields,
    }


async def create_timed_timesheet(
    app: FastAPI, contract: Contract, started_at: str, ended_at: str, **fields: Any
) -> Timesheet:
    """An approved entry with times, its minutes and work date derived from them."""
    start, end = utc(started_at), utc(ended_at)
    return await create_timesheet(
        app,
        contract,
        work_date=start.astimezone(UTC).date(),
        minutes=round((end - start).total_seconds() / 60),
        started_at=start,
        ended_at=end,
        **fields,
    )
