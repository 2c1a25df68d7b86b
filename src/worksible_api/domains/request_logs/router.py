from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request

from worksible_api.domains.request_logs.auth import RequestLogsRead
from worksible_api.domains.request_logs.repository import RequestLogRepository
from worksible_api.domains.request_logs.schemas import LogFilters, RequestLogOut
from worksible_api.kit.pagination import ListParamsDep, Page
from worksible_api.pipeline import ApiRoute, SessionDep

router = APIRouter(prefix="/request-logs", tags=["Request logs"], route_class=ApiRoute)

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@router.get("", response_model=Page[RequestLogOut], summary="List requests made with your keys")
async def list_request_logs(
    request: Request,
    principal: RequestLogsRead,
    session: SessionDep,
    params: ListParamsDep,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    method: Method | None = None,
    path: Annotated[
        str | None, Query(min_length=1, max_length=2048, description="Path prefix.")
    ] = None,
    api_key_id: UUID | None = None,
) -> Page[RequestLogOut]:
    repository = RequestLogRepository(session, principal.organization_id)
    filters = LogFilters(status=status, method=method, path_prefix=path, api_key_id=api_key_id)
    statement = repository.filtered(filters)
    return await repository.page(statement, params, request.url, RequestLogOut)
