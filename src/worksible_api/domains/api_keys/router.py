from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.domains.api_keys.auth import ApiKeysRead, ApiKeysWrite
from worksible_api.domains.api_keys.repository import ApiKeyRepository
from worksible_api.domains.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyOut,
    ApiKeyUpdate,
    ApiKeyWithSecret,
)
from worksible_api.domains.api_keys.service import Actor, ApiKeyService
from worksible_api.models import ApiKey
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing

router = APIRouter(prefix="/api-keys", tags=["API keys"], route_class=ApiRoute)


async def _service(request: Request, principal: ApiKeysWrite, session: SessionDep) -> ApiKeyService:
    return ApiKeyService(
        session,
        principal.organization_id,
        request.app.state.key_verifier,
        actor=Actor.of(principal),
    )


Service = Annotated[ApiKeyService, Depends(_service)]
# The key named in the path, locked for the write that follows.
LockedApiKey = Annotated[
    ApiKey, Depends(path_object(ApiKeyRepository, "api_key_id", for_update=True))
]
PathApiKey = Annotated[ApiKey, Depends(path_object(ApiKeyRepository, "api_key_id"))]


def _with_secret(api_key: ApiKey, full_key: str) -> ApiKeyWithSecret:
    return ApiKeyWithSecret.model_validate(
        {**ApiKeyOut.model_validate(api_key).model_dump(), "key": full_key}
    )


listing(
    router,
    response=ApiKeyOut,
    principal=ApiKeysRead,
    repository=ApiKeyRepository,
    query={},
    name="list_api_keys",
    summary="List API keys",
)


@router.post("", status_code=201, response_model=ApiKeyWithSecret, summary="Create an API key")
async def create_api_key(service: Service, body: ApiKeyCreate) -> ApiKeyWithSecret:
    api_key, full_key = await service.create(body)
    return _with_secret(api_key, full_key)


@router.get("/{api_key_id}", response_model=ApiKeyOut, summary="Retrieve an API key")
async def get_api_key(api_key_id: str, principal: ApiKeysRead, api_key: PathApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(api_key)


@router.patch("/{api_key_id}", response_model=ApiKeyOut, summary="Update an API key")
async def update_api_key(
    api_key_id: str, service: Service, api_key: LockedApiKey, body: ApiKeyUpdate
) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.update(api_key, body))


@router.delete("/{api_key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
async def revoke_api_key(api_key_id: str, service: Service, api_key: LockedApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(await service.revoke(api_key))


@router.post("/{api_key_id}/rotate", response_model=ApiKeyWithSecret, summary="Rotate an API key")
async def rotate_api_key(
    api_key_id: str, service: Service, api_key: LockedApiKey
) -> ApiKeyWithSecret:
    api_key, full_key = await service.rotate(api_key)
    return _with_secret(api_key, full_key)
