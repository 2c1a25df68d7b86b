from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import EmailStr

from worksible_api.domains.users.auth import UsersRead, UsersWrite
from worksible_api.domains.users.repository import UserRepository
from worksible_api.domains.users.schemas import (
    Role,
    UserCreate,
    UserOut,
    UserStatus,
    UserUpdate,
    UserWithInvite,
)
from worksible_api.domains.users.service import UserService
from worksible_api.models import User
from worksible_api.pipeline import ApiRoute, SessionDep, path_object
from worksible_api.pipeline.direct_reads import listing, retrieve

router = APIRouter(prefix="/users", tags=["Users"], route_class=ApiRoute)


async def _service(principal: UsersWrite, session: SessionDep) -> UserService:
    return UserService(session, principal.organization_id)


Service = Annotated[UserService, Depends(_service)]
PathUser = Annotated[User, Depends(path_object(UserRepository, "user_id"))]
# The user named in the path, locked for the write that follows.
LockedUser = Annotated[User, Depends(path_object(UserRepository, "user_id", for_update=True))]


listing(
    router,
    response=UserOut,
    principal=UsersRead,
    repository=UserRepository,
    query={
        "role": Role | None,
        "status": UserStatus | None,
        "email": Annotated[EmailStr | None, Query(description="Exact match, whatever the case.")],
    },
    name="list_users",
    summary="List users",
)


@router.post(
    "",
    status_code=201,
    response_model=UserWithInvite,
    summary="Invite a user",
    description="The user is `invited` until they set a password at `invite_url` (valid 7 "
    "days, once; shown only in this response). An address already in use is 409 `conflict`; "
    "users sign in to live data, so a test key is 403 `livemode_required`.",
)
async def create_user(request: Request, service: Service, body: UserCreate) -> UserWithInvite:
    user, token = await service.create(body)
    return UserWithInvite.of(user, token, request.app.state.settings.public_base_url)


retrieve(
    router,
    "/{user_id}",
    response_model=UserOut,
    principal=UsersRead,
    path_object=PathUser,
    name="get_user",
    summary="Retrieve a user",
)


@router.patch(
    "/{user_id}",
    response_model=UserOut,
    summary="Update a user",
    description="`name`, `role` and `metadata`. Demoting the last active owner is 409 "
    "`last_owner`.",
)
async def update_user(
    user_id: str, service: Service, user: LockedUser, body: UserUpdate
) -> UserOut:
    return UserOut.model_validate(await service.update(user, body))


@router.delete(
    "/{user_id}",
    response_model=UserOut,
    summary="Deactivate a user",
    description="Ends their sessions at once. Deactivating the last active owner is 409 "
    "`last_owner`.",
)
async def deactivate_user(user_id: str, service: Service, user: LockedUser) -> UserOut:
    return UserOut.model_validate(await service.deactivate(user))
