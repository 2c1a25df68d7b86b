from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Runs `callback` once the request's transaction has committed, before the response.

    For effects outside PostgreSQL that must not precede the commit, such as forgetting a
    revoked key's cache entry: done earlier, a concurrent request could cache the old row again.
    """
    session.info.setdefault("after_commit", []).append(callback)


async def commit(session: AsyncSession) -> None:
    await session.commit()
    await run_after_commit(session)


async def run_after_commit(session: AsyncSession) -> None:
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        await callback()
