"""What a failure of PostgreSQL or Redis means to the client (API.md §12): 503 when the
service cannot serve now, 409 or 422 when the data store refused the request itself."""

import asyncio

import asyncpg
import structlog
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc

from worksible_api import errors
from worksible_api.db.repository import violated_constraint
from worksible_api.db.rows import as_sqlalchemy_error

# SQLSTATEs that mean "the database cannot serve this now", not "the request is wrong":
# cancelled or timed out, lock not available, serialization failure, deadlock, and the
# operator's side: shutting down, the database missing or its credentials refused.
_UNAVAILABLE_SQLSTATES = ("57014", "55P03", "40001", "40P01", "3D000", "28000", "28P01")
# Whole classes: connection exceptions, insufficient resources (too many connections, disk
# full, out of memory), operator intervention (admin or crash shutdown, cannot connect now).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57P")

logger = structlog.get_logger(__name__)


def _unavailable_sqlstate(sqlstate: object) -> bool:
    return isinstance(sqlstate, str) and (
        sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES) or sqlstate in _UNAVAILABLE_SQLSTATES
    )


def _database_unavailable() -> errors.ApiError:
    return errors.ServiceUnavailable("The database is unavailable; retry shortly.")


# The unique constraints of external_id (API.md §17), and the kind of object each names.
_EXTERNAL_ID_TAKEN = {
    f"uq_{table}_organization_id_external_id": noun
    for table, noun in (
        ("freelancers", "freelancer"),
        ("projects", "project"),
        ("contracts", "contract"),
        ("cost_codes", "cost code"),
        ("wbs_elements", "WBS element"),
    )
}


def _conflict() -> errors.ApiError:
    return errors.Conflict("The request conflicts with the current state of a resource.")


def infrastructure_error(exc: BaseException) -> errors.ApiError | None:
    """Classifies failures of PostgreSQL or Redis; None when `exc` is not one of them."""
    if isinstance(exc, sa_exc.IntegrityError):
        taken = _EXTERNAL_ID_TAKEN.get(violated_constraint(exc) or "")
        if taken is not None:
            return errors.Conflict(
                f"The external_id is already used by another {taken} of your organization."
            )
        return _conflict()
    if isinstance(exc, sa_exc.DataError):
        return errors.ValidationFailed(
            "A value in the request is out of range or malformed.",
            errors=[{"loc": [], "msg": "Value rejected by the data store.", "type": "value_error"}],
        )
    if isinstance(exc, sa_exc.DBAPIError) and isinstance(
        getattr(exc.orig, "__cause__", None), asyncpg.DataError
    ):
        # The driver refused to encode a parameter (e.g. a date out of its range): bad input.
        return errors.ValidationFailed(
            "A value in the request is out of range.",
            errors=[{"loc": [], "msg": "Value out of range.", "type": "value_error"}],
        )
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        unavailable = (
            exc.connection_invalidated
            or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _unavailable_sqlstate(sqlstate)
        )
        return _database_unavailable() if unavailable else None
    if isinstance(exc, asyncpg.PostgresError):
        # Raised by asyncpg itself, where a statement bypasses SQLAlchemy (db/rows.py,
        # db/transaction.py): answered as SQLAlchemy's error for it is.
        return infrastructure_error(as_sqlalchemy_error(exc, ""))
    if isinstance(exc, asyncpg.InterfaceError):
        return _database_unavailable()
    if isinstance(exc, sa_exc.TimeoutError | asyncio.TimeoutError | ConnectionError | OSError):
        return errors.ServiceUnavailable("A backing service is unavailable; retry shortly.")
    if isinstance(exc, RedisError):
        return errors.ServiceUnavailable("The cache is unavailable; retry shortly.")
    return None


def backing_service_problem(exc: BaseException) -> errors.ApiError | None:
    """The answer to a failure of PostgreSQL or Redis, logged; None for anything else."""
    error = infrastructure_error(exc)
    if error is not None:
        logger.warning("backing_service_error", error=repr(exc), status=error.status)
    return error


def _reported_by_server(exc: BaseException) -> bool:
    """A failure PostgreSQL reported itself (it carries a SQLSTATE): it rolled the transaction
    back and the connection is sound. A lost connection or a timeout of ours carries none."""
    orig = getattr(exc, "orig", None)
    return any(
        getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        for candidate in (exc, orig, getattr(orig, "__cause__", None))
    )


def connection_in_doubt(exc: BaseException) -> bool:
    """Whether PostgreSQL left `exc` unanswered: it did not answer in time or the connection
    broke, so the server may be frozen or gone. The session's connection is then dropped, and
    a COMMIT's outcome is unknown. A lock timeout, a
    deadlock or a statement timeout is the server answering, and a Redis failure is not the
    database's: their connections stay in the pool."""
    return (
        # The service's own errors (a 404, a 409) never are: the commonest, so looked at first.
        not isinstance(exc, errors.ApiError | RedisError)
        and isinstance(infrastructure_error(exc), errors.ServiceUnavailable)
        and not _reported_by_server(exc)
    )
