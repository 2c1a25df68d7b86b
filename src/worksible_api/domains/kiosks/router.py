from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.domains.kiosks.auth import KiosksRead, KiosksWrite
from worksible_api.domains.kiosks.repository import KioskRepository
from worksible_api.domains.kiosks.schemas import (
    KioskCreate,
    KioskOut,
    KioskStatus,
    KioskUpdate,
    KioskWithSecret,
)
from worksible_api.domains.kiosks.service import KioskService
from worksible_api.kit.pagination import ListParamsDep, Page
from worksible_api.models import Kiosk
from worksible_api.pipeline import ApiRoute, SessionDep, path_object

router = APIRouter(prefix="/kiosks", tags=["Kiosks"], route_class=ApiRoute)


async def _service(principal: KiosksWrite, session: SessionDep) -> KioskService:
    return KioskService(session, principal.organization_id)


Service = Annotated[KioskService, Depends(_service)]
PathKiosk = Annotated[Kiosk, Depends(path_object(KioskRepository, "kiosk_id"))]
# The kiosk named in the path, locked for the write that follows.
LockedKiosk = Annotated[Kiosk, Depends(path_object(KioskRepository, "kiosk_id", for_update=True))]


@router.get("", response_model=Page[KioskOut], summary="List kiosks")
async def list_kiosks(
    request: Request,
    principal: KiosksRead,
    session: SessionDep,
    params: ListParamsDep,
    status: KioskStatus | None = None,
) -> Page[KioskOut]:
    repository = KioskRepository(session, principal.organization_id)
    statement = repository.filtered(status=status)
    return await repository.page_rendered(statement, params, request.url, KioskOut.of)


@router.post("", status_code=201, response_model=KioskWithSecret, summary="Create a kiosk")
async def create_kiosk(service: Service, body: KioskCreate) -> KioskOut:
    kiosk, secret = await service.create(body)
    return KioskWithSecret.of(kiosk, secret=secret)


@router.get("/{kiosk_id}", response_model=KioskOut, summary="Retrieve a kiosk")
async def get_kiosk(kiosk_id: str, principal: KiosksRead, kiosk: PathKiosk) -> KioskOut:
    return KioskOut.of(kiosk)


@router.patch("/{kiosk_id}", response_model=KioskOut, summary="Update a kiosk")
async def update_kiosk(
    kiosk_id: str, service: Service, kiosk: LockedKiosk, body: KioskUpdate
) -> KioskOut:
    return KioskOut.of(await service.update(kiosk, body))


@router.delete("/{kiosk_id}", response_model=KioskOut, summary="Revoke a kiosk")
async def revoke_kiosk(kiosk_id: str, service: Service, kiosk: LockedKiosk) -> KioskOut:
    return KioskOut.of(await service.revoke(kiosk))


@router.post(
    "/{kiosk_id}/rotate", response_model=KioskWithSecret, summary="Rotate a kiosk's secret"
)
async def rotate_kiosk(kiosk_id: str, service: Service, kiosk: LockedKiosk) -> KioskOut:
    kiosk, secret = await service.rotate(kiosk)
    return KioskWithSecret.of(kiosk, secret=secret)
