"""Signing in to the dashboard (API.md §14): passwords, lockout, sessions.

Five failed sign-ins for one address within 15 minutes lock it for 15 minutes from the fifth;
meanwhile even the right password is refused. Failures count for any address, known or not,
and an unknown address costs the same argon2 check as a known one, so neither the answer nor
its timing tells whether an account exists. Attempts for one address are serialized in
PostgreSQL, so concurrent guesses cannot slip past the count.

A session is a random token in an HttpOnly cookie; PostgreSQL keeps its SHA-256 and a CSRF
token. It ends after 12 hours without use, or at once on sign-out or deactivation.
"""

import asyncio
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.auth.keys import hash_secret, verify_secret
from worksible_api.domains.users import repository
from worksible_api.domains.users.schemas import UserStatus
from worksible_api.models import DashboardSession, User

LOCK_AFTER_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
SESSION_IDLE = timedelta(hours=12)
# last_seen_at is written at most this often per session: a page view is a read.
TOUCH_EVERY = timedelta(minutes=1)


@functools.cache
def _no_password() -> str:
    """Checked against when the address has no password, so every refusal costs one argon2."""
    return hash_secret(secrets.token_urlsafe(16))


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie; only its digest is stored
    user: User


@dataclass(frozen=True)
class Refused:
    locked_until: datetime | None  # None: a wrong address or password


def locked_until(failures: list[datetime]) -> datetime | None:
    """When the lock that `failures` (newest first) set ends; None when they set none."""
    for newest, fifth in zip(failures, failures[LOCK_AFTER_FAILURES - 1 :], strict=False):
        if newest - fifth <= LOCK_WINDOW:
            return newest + LOCK_WINDOW
    return None


async def sign_in(
    session: AsyncSession, email: str, password: str, now: datetime
) -> SignedIn | Refused:
    """Signs in, or says why not; the caller commits either way (a failure is recorded)."""
    email_key = email.strip().lower()
    await repository.serialize_sign_ins(session, email_key)
    failures = list(await repository.recent_failures(session, email_key, now - 2 * LOCK_WINDOW))
    until = locked_until(failures)
    if until is not None and until > now:
        return Refused(locked_until=until)
    user = await repository.find_by_email(session, email_key)
    active = user is not None and user.status == UserStatus.ACTIVE
    password_hash = user.password_hash if user is not None and active else None
    matches = await asyncio.to_thread(verify_secret, password_hash or _no_password(), password)
    if user is None or password_hash is None or not matches:
        await repository.record_failure(session, email_key, now)
        until = locked_until([now, *failures])
        return Refused(locked_until=until if until is not None and until > now else None)
    user.last_sign_in_at = now
    return SignedIn(await start_session(session, user), user)


async def start_session(session: AsyncSession, user: User) -> str:
    token = secrets.token_urlsafe(32)
    row = DashboardSession(
        token_digest=session_digest(token),
        user_id=user.id,
        organization_id=user.organization_id,
        csrf_token=secrets.token_urlsafe(32),
    )
    await repository.add_session(session, row)
    return token


@dataclass(frozen=True)
class SignedInUser:
    """The person behind a dashboard request."""

    user: User
    token_digest: str
    csrf_token: str
    # The test twin the session shows in test mode (API.md §17), else None: live data.
    twin_id: UUID | None = None

    @property
    def livemode(self) -> bool:
        return self.twin_id is None

    @property
    def organization_id(self) -> UUID:
        """The organization the pages show and act for: the user's, or its test twin."""
        return self.twin_id or self.user.organization_id


async def resume(session: AsyncSession, token: str, now: datetime) -> SignedInUser | None:
    """The session of a cookie's `token`, still in use; its last use noted to the minute."""
    digest = session_digest(token)
    found = await repository.find_session(session, digest, now - SESSION_IDLE)
    if found is None:
        return None
    row, user, twin_id = found
    if now - row.last_seen_at >= TOUCH_EVERY:
        await repository.touch_session(session, digest, now)
    return SignedInUser(user, digest, row.csrf_token, twin_id)
