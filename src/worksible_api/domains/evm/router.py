from typing import Annotated

from fastapi import APIRouter, Query

from worksible_api.domains.evm.auth import EvmRead
from worksible_api.domains.evm.schemas import EvmOut, SCurveOut, SCurvePoint
from worksible_api.domains.evm.service import EvmService
from worksible_api.domains.wbs.dependencies import PathProject
from worksible_api.kit.evm import Interval
from worksible_api.kit.fields import QueryDate
from worksible_api.kit.time import utc_now
from worksible_api.pipeline import ApiRoute, SessionDep

router = APIRouter(prefix="/projects/{project_id}/evm", tags=["Earned value"], route_class=ApiRoute)

ElementFilter = Annotated[
    str | None,
    Query(max_length=100, description="An element of the project: its subtree; default: all."),
]


@router.get(
    "",
    response_model=EvmOut,
    summary="Earned value of a project or of an element's subtree",
    description="Only approved time booked to elements counts. Money in minor units of the "
    "project's currency.",
)
async def get_evm(
    project_id: str,
    principal: EvmRead,
    project: PathProject,
    session: SessionDep,
    as_of: Annotated[QueryDate | None, Query(description="Default: today (UTC).")] = None,
    wbs_element_id: ElementFilter = None,
) -> EvmOut:
    day = as_of or utc_now().date()
    evm = await EvmService(session, principal.organization_id).evm(project, day, wbs_element_id)
    figures, derived = evm.figures, evm.indicators
    return EvmOut(
        project_id=project.id,
        wbs_element_id=wbs_element_id,
        as_of=day,
        currency=project.currency,
        bac=figures.bac,
        pv=figures.pv,
        ev=figures.ev,
        ac=figures.ac,
        sv=derived.sv,
        cv=derived.cv,
        spi=derived.spi,
        cpi=derived.cpi,
        eac=derived.eac,
        etc=derived.etc,
        vac=derived.vac,
        percent_complete=derived.percent_complete,
        percent_spent=derived.percent_spent,
    )


@router.get(
    "/s-curve",
    response_model=SCurveOut,
    summary="Cumulative pv, ev and ac over time",
    description="One point per interval from `from` to `to`, each at the interval's last day "
    "(weeks end on Sunday, months on their last day, the last point on `to`); at most 500.",
)
async def get_s_curve(
    project_id: str,
    principal: EvmRead,
    project: PathProject,
    session: SessionDep,
    from_: Annotated[QueryDate, Query(alias="from")],
    to: Annotated[QueryDate, Query()],
    interval: Annotated[Interval, Query()] = Interval.WEEK,
    wbs_element_id: ElementFilter = None,
) -> SCurveOut:
    service = EvmService(session, principal.organization_id)
    curve = await service.s_curve(project, from_, to, interval, wbs_element_id)
    return SCurveOut(
        project_id=project.id,
        wbs_element_id=wbs_element_id,
        currency=project.currency,
        interval=interval,
        from_=from_,
        to=to,
        points=[
            SCurvePoint(date=day, pv=pv, ev=ev, ac=ac)
            for day, pv, ev, ac in zip(curve.dates, curve.pv, curve.ev, curve.ac, strict=True)
        ],
    )
