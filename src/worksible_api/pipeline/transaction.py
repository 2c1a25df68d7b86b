"""One transaction per request, committed once after a successful endpoint, and the session
the endpoints' dependencies receive."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.db.transaction import run_after_commit
from worksible_api.errors import OutcomeUnknown
from worksible_api.failures import connection_in_doubt
from worksible_api.idempotency import service as idempotency
from worksible_api.request_body import ApiRequest

READ_METHODS = frozenset({"GET", "HEAD"})


async def in_transaction(
    request: ApiRequest, handler: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    state = request.app.state
    reads_only = request.method in READ_METHODS
    sessionmaker: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if reads_only else state.sessionmaker
    )
    async with sessionmaker() as session:
        request.scope["state"]["db"] = session
        response = await handler(request)
        # A read's session runs each statement on its own (AUTOCOMMIT): nothing to commit,
        # and the session's commit machinery cost a list page more than 30 µs for nothing.
        if response.status_code < 400 and not reads_only:
            claim = request.scope["state"].get("idempotency_claim")
            if claim is not None and response.status_code < 300:
                idempotency.record(session, claim, response)
            await _commit_truthfully(session, request)
    return response


async def _commit_truthfully(session: AsyncSession, request: Request) -> None:
    """Commits; from the moment COMMIT is sent the deadline waits for its outcome, and a
    connection lost before the outcome is known is answered as exactly that."""
    request.scope["state"]["committing"] = True
    try:
        await session.commit()
    except Exception as exc:
        if connection_in_doubt(exc):
            # PostgreSQL never answered the COMMIT: it may or may not have been applied.
            raise OutcomeUnknown() from exc
        raise
    await run_after_commit(session)


async def get_session(request: Request) -> AsyncSession:
    # async: a plain function runs in the threadpool, a hop per request for nothing.
    session: AsyncSession = request.scope["state"]["db"]
    return session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
