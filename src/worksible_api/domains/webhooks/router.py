from typing import Annotated

from fastapi import APIRouter, Depends, Request

from worksible_api.domains.webhooks.auth import WebhooksRead, WebhooksWrite
from worksible_api.domains.webhooks.repository import (
    WebhookAttemptRepository,
    WebhookEndpointRepository,
)
from worksible_api.domains.webhooks.schemas import (
    DeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from worksible_api.domains.webhooks.service import WebhookEndpointService
from worksible_api.kit.pagination import ListParamsDep, Page
from worksible_api.models import WebhookEndpoint
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/webhook-endpoints", tags=["Webhooks"], route_class=ApiRoute)


async def _service(
    request: Request, principal: WebhooksWrite, session: SessionDep
) -> WebhookEndpointService:
    allowed = request.app.state.settings.webhook_allowed_hosts
    return WebhookEndpointService(session, principal.organization_id, allowed)


Service = Annotated[WebhookEndpointService, Depends(_service)]
PathEndpoint = Annotated[
    WebhookEndpoint, Depends(path_object(WebhookEndpointRepository, "endpoint_id"))
]
# The endpoint named in the path, locked for the write that follows.
LockedEndpoint = Annotated[
    WebhookEndpoint,
    Depends(path_object(WebhookEndpointRepository, "endpoint_id", for_update=True)),
]


listing(
    router,
    response=WebhookEndpointOut,
    principal=WebhooksRead,
    repository=WebhookEndpointRepository,
    query={},
    name="list_endpoints",
    summary="List webhook endpoints",
)


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointWithSecret,
    summary="Create a webhook endpoint",
    description="The URL must be https and its host resolve to public addresses only "
    "(422 `validation_error` otherwise). The signing `secret` is shown only in this answer.",
)
async def create_endpoint(
    service: Service, body: WebhookEndpointCreate
) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret.model_validate(await service.create(body))


retrieve(
    router,
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    principal=WebhooksRead,
    path_object=PathEndpoint,
    name="get_endpoint",
    summary="Retrieve a webhook endpoint",
)


@router.patch(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    summary="Update a webhook endpoint",
    description="`url`, `events`, `description`, `metadata`, and `status` (enable it again "
    "after it was disabled).",
)
async def update_endpoint(
    endpoint_id: str, service: Service, endpoint: LockedEndpoint, body: WebhookEndpointUpdate
) -> WebhookEndpointOut:
    return WebhookEndpointOut.model_validate(await service.update(endpoint, body))


@router.delete(
    "/{endpoint_id}",
    response_model=WebhookEndpointOut,
    summary="Delete a webhook endpoint",
    description="Deliveries to it stop, and its delivery history goes with it.",
)
async def delete_endpoint(
    endpoint_id: str, service: Service, endpoint: LockedEndpoint
) -> WebhookEndpointOut:
    answer = WebhookEndpointOut.model_validate(endpoint)
    await service.delete(endpoint)
    return answer


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointWithSecret,
    summary="Rotate an endpoint's signing secret",
    description="Deliveries from now on are signed with the new secret only; it is shown "
    "only in this answer.",
)
async def rotate_secret(
    endpoint_id: str, service: Service, endpoint: LockedEndpoint
) -> WebhookEndpointWithSecret:
    return WebhookEndpointWithSecret.model_validate(await service.rotate_secret(endpoint))


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="List an endpoint's delivery attempts",
    description="Made and pending, newest first.",
)
async def list_deliveries(
    request: Request,
    endpoint_id: str,
    principal: WebhooksRead,
    session: SessionDep,
    params: ListParamsDep,
    endpoint: PathEndpoint,
) -> Page[DeliveryOut]:
    repository = WebhookAttemptRepository(session, principal.organization_id)
    return await repository.page(repository.of_endpoint(endpoint), params, request.url, DeliveryOut)
