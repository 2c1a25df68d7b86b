"""Loading the object a path names, as a dependency.

API.md §1 orders the checks: authentication, scope, then the path's objects (404), then the
body. A route's handler (handler.py, as FastAPI's) validates the body after its
dependencies, so loading the object in a dependency declared after the principal gives
exactly that order.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Request

from worksible_api.auth.dependencies import AuthenticatedPrincipal
from worksible_api.db.base import Base
from worksible_api.db.repository import Repository
from worksible_api.pipeline.transaction import SessionDep

ModelT = TypeVar("ModelT", bound=Base)


@dataclass(frozen=True)
class PathObject(Generic[ModelT]):
    """What a `path_object` dependency loads, for the direct reads (direct_reads.py)."""

    repository: type[Repository[ModelT]]
    param: str
    for_update: bool


def path_object(
    repository: type[Repository[ModelT]], param: str, *, for_update: bool = False
) -> Callable[[Request, AuthenticatedPrincipal, SessionDep], Awaitable[ModelT]]:
    async def load(
        request: Request, principal: AuthenticatedPrincipal, session: SessionDep
    ) -> ModelT:
        raw_id = request.path_params[param]
        return await repository(session, principal.organization_id).get(
            raw_id, for_update=for_update
        )

    described: Any = load
    described.path_object = PathObject(repository, param, for_update)
    return load
