from typing import Annotated

from fastapi import APIRouter, Depends

from worksible_api.domains.balances.auth import FreelancersRead
from worksible_api.domains.balances.repository import BalanceRepository
from worksible_api.domains.balances.schemas import BalanceOut, CurrencyBalanceOut
from worksible_api.models import Freelancer
from worksible_api.pipeline import ApiRoute, SessionDep, path_object

router = APIRouter(prefix="/freelancers", tags=["Freelancers"], route_class=ApiRoute)

PathFreelancer = Annotated[Freelancer, Depends(path_object(BalanceRepository, "freelancer_id"))]


@router.get(
    "/{freelancer_id}/balance",
    response_model=BalanceOut,
    summary="Retrieve a freelancer's balance",
    description="Per currency: payments received on the freelancer's invoices (`paid_in`) "
    "minus payouts that are pending or paid (`paid_out`).",
)
async def get_balance(
    freelancer_id: str, principal: FreelancersRead, freelancer: PathFreelancer, session: SessionDep
) -> BalanceOut:
    balances = await BalanceRepository(session, principal.organization_id).balances(freelancer.id)
    return BalanceOut(
        freelancer_id=freelancer.id,
        balances=[CurrencyBalanceOut.model_validate(entry) for entry in balances],
    )
