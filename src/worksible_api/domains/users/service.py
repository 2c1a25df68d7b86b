"""User rules (API.md §14): one sign-in per address, invitations, and never without an owner.

An organization keeps at least one active owner: demoting or deactivating the last one is 409
`last_owner`. The active owners are locked before the count, so concurrent changes to two
owners never leave none.
"""

import asyncio
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.keys import hash_secret
from worksible_api.domains.organizations.repository import OrganizationRepository
from worksible_api.domains.users import repository as users
from worksible_api.domains.users.repository import UserRepository
from worksible_api.domains.users.schemas import (
    MIN_PASSWORD_LENGTH,
    Role,
    UserCreate,
    UserStatus,
    UserUpdate,
)
from worksible_api.errors import LastOwner, LivemodeRequired, ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import User

INVITE_LIFETIME = timedelta(days=7)
NOT_NULLABLE = ("name", "role", "metadata")

user_machine = StateMachine(
    "user",
    {
        "accept": transition(UserStatus.INVITED, to=UserStatus.ACTIVE),
        "deactivate": transition(UserStatus.INVITED, UserStatus.ACTIVE, to=UserStatus.DEACTIVATED),
    },
)


def invite_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.users = UserRepository(session, organization_id)

    async def create(self, data: UserCreate) -> tuple[User, str]:
        """The new user and the token of their invitation (shown once, kept as a digest)."""
        organization = await OrganizationRepository(self.session, self.organization_id).current()
        if not organization.livemode:
            # A user of a test twin would sign in to test data as if it were live.
            raise LivemodeRequired("Users sign in to live data: invite them with a live key.")
        token = secrets.token_urlsafe(32)
        user = User(
            organization_id=self.organization_id,
            email=data.email,
            name=data.name,
            role=data.role,
            status=UserStatus.INVITED,
            invite_digest=invite_digest(token),
            invite_expires_at=utc_now() + INVITE_LIFETIME,
            metadata_=data.metadata,
        )
        return await self.users.add_unique(user), token

    async def update(self, user: User, data: UserUpdate) -> User:
        """`user` is locked by the caller."""
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        if changes.get("role", user.role) != Role.OWNER:
            await self._keep_an_owner(user, "demote")
        for field, value in changes.items():
            setattr(user, "metadata_" if field == "metadata" else field, value)
        await self.session.flush()
        return user

    async def deactivate(self, user: User) -> User:
        """`user` is locked by the caller. Their sessions end with the transaction; deactivating
        twice answers the user unchanged (DELETE is idempotent)."""
        if user.status == UserStatus.DEACTIVATED:
            return user
        await self._keep_an_owner(user, "deactivate")
        user_machine.apply(user, "deactivate")
        user.deactivated_at = utc_now()
        user.invite_digest = None
        user.invite_expires_at = None
        await users.end_sessions(self.session, user.id)
        await self.session.flush()
        return user

    async def _keep_an_owner(self, user: User, action: str) -> None:
        if user.role != Role.OWNER or user.status != UserStatus.ACTIVE:
            return
        owners = await self.users.lock_active_owners()
        if not any(owner != user.id for owner in owners):
            raise LastOwner(
                f"Cannot {action} {user.email}: the organization's last active owner. "
                "Make another user an owner first."
            )


async def accept_invite(session: AsyncSession, token: str, password: str, now: datetime) -> User:
    """Sets the password of the user invited with `token`; ValueError when the invitation is
    unknown, used or expired, or the password too short."""
    user = await users.find_by_invite(session, invite_digest(token))
    if user is None or user.invite_expires_at is None or user.invite_expires_at <= now:
        raise ValueError("This invitation is not valid any more: ask for a new one.")
    return await set_password(session, user, password)


async def set_password(session: AsyncSession, user: User, password: str) -> User:
    """A new password (an invited user becomes active); the user's sessions end."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    user.password_hash = await asyncio.to_thread(hash_secret, password)
    if user.status == UserStatus.INVITED:
        user_machine.apply(user, "accept")
    user.invite_digest = None
    user.invite_expires_at = None
    await users.end_sessions(session, user.id)
    await session.flush()
    return user
