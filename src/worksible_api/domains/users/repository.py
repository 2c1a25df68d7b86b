from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from worksible_api.db.filters import Filters, equals, same_email
from worksible_api.db.repository import Repository, violated_constraint
from worksible_api.domains.users.schemas import Role, UserStatus
from worksible_api.errors import Conflict
from worksible_api.models import DashboardSession, Organization, SignInFailure, User

# The unique index on lower(email) in models/user.py.
EMAIL_INDEX = "uq_users_email"


def email_taken(email: str) -> Conflict:
    return Conflict(f"A user with the email {email} already exists.")


class UserRepository(Repository[User]):
    model = User
    object_name = "user"

    filters = Filters(
        role=equals(User.role), status=equals(User.status), email=same_email(User.email)
    )

    async def add_unique(self, user: User) -> User:
        """Inserts `user`; an address taken, by any organization, is 409 (the index decides,
        concurrent requests included)."""
        self.session.add(user)
        try:
            await self.session.flush()
        except IntegrityError as error:
            if violated_constraint(error) == EMAIL_INDEX:
                raise email_taken(user.email) from error
            raise
        return user

    async def lock_active_owners(self) -> Sequence[UUID]:
        """The organization's active owners, read under a lock held until commit: changes that
        could remove the last one are serialized here, so two of them can never both pass the
        check. The lock is one advisory lock per organization, not the owners' rows: each
        caller already holds its own user's row, and locking the others' rows would deadlock
        two owners removed at once."""
        lock_name = f"owners:{self.organization_id}"
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(lock_name, 0)))
        )
        statement = select(User.id).where(
            User.organization_id == self.organization_id,
            User.role == Role.OWNER,
            User.status == UserStatus.ACTIVE,
        )
        return (await self.session.execute(statement)).scalars().all()


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    """The user signing in with `email`, of any organization: the address names the tenant."""
    statement = select(User).where(func.lower(User.email) == email.lower())
    user: User | None = (await session.execute(statement)).scalar_one_or_none()
    return user


async def find_by_invite(session: AsyncSession, digest: str) -> User | None:
    statement = select(User).where(User.invite_digest == digest).with_for_update()
    user: User | None = (await session.execute(statement)).scalar_one_or_none()
    return user


async def end_sessions(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(delete(DashboardSession).where(DashboardSession.user_id == user_id))


async def add_session(session: AsyncSession, row: DashboardSession) -> None:
    session.add(row)
    await session.flush()


async def find_session(
    session: AsyncSession, token_digest: str, seen_after: datetime
) -> tuple[DashboardSession, User, UUID | None] | None:
    """The session of `token_digest`, its user, and the test twin it shows when in test mode,
    if used since `seen_after` and the user is active."""
    twin = aliased(Organization)
    statement = (
        select(DashboardSession, User, twin.id)
        .join(User, User.id == DashboardSession.user_id)
        .outerjoin(
            twin,
            and_(
                twin.live_organization_id == User.organization_id,
                DashboardSession.livemode.is_(False),
            ),
        )
        .where(
            DashboardSession.token_digest == token_digest,
            DashboardSession.last_seen_at > seen_after,
            User.status == UserStatus.ACTIVE,
        )
    )
    row = (await session.execute(statement)).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def set_session_mode(session: AsyncSession, token_digest: str, livemode: bool) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.token_digest == token_digest)
        .values(livemode=livemode)
    )


async def touch_session(session: AsyncSession, token_digest: str, now: datetime) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.token_digest == token_digest)
        .values(last_seen_at=now)
    )


async def end_session(session: AsyncSession, token_digest: str) -> None:
    await session.execute(
        delete(DashboardSession).where(DashboardSession.token_digest == token_digest)
    )


async def purge_idle_sessions(session: AsyncSession, seen_before: datetime) -> int:
    result = await session.execute(
        delete(DashboardSession).where(DashboardSession.last_seen_at < seen_before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def serialize_sign_ins(session: AsyncSession, email_key: str) -> None:
    """Sign-ins for one address one at a time, until the transaction ends: the failures a
    lockout counts are then never raced past."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"sign-in:{email_key}", 0)))
    )


async def recent_failures(
    session: AsyncSession, email_key: str, since: datetime, limit: int = 50
) -> Sequence[datetime]:
    """When sign-ins for the address failed since `since`, newest first."""
    statement = (
        select(SignInFailure.failed_at)
        .where(SignInFailure.email_key == email_key, SignInFailure.failed_at >= since)
        .order_by(SignInFailure.failed_at.desc())
        .limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def record_failure(session: AsyncSession, email_key: str, now: datetime) -> None:
    session.add(SignInFailure(email_key=email_key, failed_at=now))
    await session.flush()


async def purge_failures(session: AsyncSession, before: datetime) -> int:
    result = await session.execute(delete(SignInFailure).where(SignInFailure.failed_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
