from typing import Annotated

from fastapi import APIRouter, Depends, Query

from worksible_api.domains.contracts.auth import ContractsRead, ContractsWrite
from worksible_api.domains.contracts.repository import ContractRepository
from worksible_api.domains.contracts.schemas import (
    ContractCreate,
    ContractOut,
    ContractStatus,
    ContractUpdate,
)
from worksible_api.domains.contracts.service import ContractService
from worksible_api.kit.pagination import ExternalIdQuery
from worksible_api.models import Contract
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/contracts", tags=["Contracts"], route_class=ApiRoute)


async def _service(principal: ContractsWrite, session: SessionDep) -> ContractService:
    return ContractService(session, principal.organization_id)


Service = Annotated[ContractService, Depends(_service)]
PathContract = Annotated[Contract, Depends(path_object(ContractRepository, "contract_id"))]
# The contract named in the path, locked for the write that follows.
LockedContract = Annotated[
    Contract, Depends(path_object(ContractRepository, "contract_id", for_update=True))
]
FilterId = Annotated[str | None, Query(max_length=100)]


listing(
    router,
    response=ContractOut,
    principal=ContractsRead,
    repository=ContractRepository,
    query={
        "status": ContractStatus | None,
        "freelancer_id": FilterId,
        "project_id": FilterId,
        "external_id": ExternalIdQuery,
    },
    name="list_contracts",
    summary="List contracts",
)


@router.post("", status_code=201, response_model=ContractOut, summary="Create a contract")
async def create_contract(service: Service, body: ContractCreate) -> ContractOut:
    return ContractOut.model_validate(await service.create(body))


retrieve(
    router,
    "/{contract_id}",
    response_model=ContractOut,
    principal=ContractsRead,
    path_object=PathContract,
    name="get_contract",
    summary="Retrieve a contract",
)


@router.patch("/{contract_id}", response_model=ContractOut, summary="Update a contract")
async def update_contract(
    contract_id: str, service: Service, contract: LockedContract, body: ContractUpdate
) -> ContractOut:
    return ContractOut.model_validate(await service.update(contract, body))


@router.post(
    "/{contract_id}/activate", response_model=ContractOut, summary="Activate a draft contract"
)
async def activate_contract(
    contract_id: str, service: Service, contract: PathContract
) -> ContractOut:
    # Not locked here: activation locks the freelancer first, then the contract (lock order).
    return ContractOut.model_validate(await service.activate(contract))


@router.post("/{contract_id}/end", response_model=ContractOut, summary="End an active contract")
async def end_contract(contract_id: str, service: Service, contract: LockedContract) -> ContractOut:
    return ContractOut.model_validate(await service.end(contract))
