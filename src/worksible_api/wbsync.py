"""WBSync paths (API.md §17): the same operations under `/api/v1/…/`, for clients written for
WBSync.

One table maps a /v1 path prefix to its WBSync prefix. Every route under a mapped prefix is
registered a second time at its WBSync path, with the trailing slash those clients send: the
same endpoint function, dependencies, response model and scope (`ApiRoute.twin`), so auth,
rules, rate limits, idempotency and the request log cannot differ between the two. Twins keep
the order of their originals: `/api/v1/labour/clashes/` is tried before
`/api/v1/labour/{timesheet_id}/`, as `/v1/timesheets/clashes` is.

The same path without its trailing slash answers 308 Permanent Redirect to it, query string
kept: 308 keeps the method and the body (RFC 9110 §15.4.9), so a POST is re-sent as a POST,
and there is still one address per operation (docs/decisions.md, "WBSync paths").
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from worksible_api.pipeline import ApiRoute

TAG = "WBSync compatibility"


@dataclass(frozen=True)
class PathAlias:
    v1: str
    wbsync: str

    def path_of(self, v1_path: str) -> str | None:
        """The WBSync path of a /v1 path under this prefix (whole segments only), or None."""
        if v1_path != self.v1 and not v1_path.startswith(self.v1 + "/"):
            return None
        return self.wbsync + v1_path.removeprefix(self.v1) + "/"


# /v1 prefix → WBSync prefix; everything under a prefix answers under its alias.
WBSYNC_PATHS: tuple[PathAlias, ...] = (
    PathAlias("/v1/clock-events/ingest", "/api/v1/clock-events/ingest"),
    PathAlias("/v1/timesheets", "/api/v1/labour"),
    PathAlias("/v1/freelancers", "/api/v1/operatives"),
    PathAlias("/v1/projects", "/api/v1/projects"),
    PathAlias("/v1/cost-codes", "/api/v1/cost-codes"),
)


def wbsync_path(v1_path: str) -> str | None:
    """`/v1/timesheets/{timesheet_id}/approve` → `/api/v1/labour/{timesheet_id}/approve/`."""
    return next(filter(None, (alias.path_of(v1_path) for alias in WBSYNC_PATHS)), None)


async def _with_trailing_slash(request: Request) -> Response:
    # A relative reference, as sent: the path's own bytes (percent-encoding and all) and query.
    path = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    location = (path + b"/" + (b"?" + query if query else b"")).decode("latin-1")
    return Response(status_code=308, headers={"Location": location})


def wbsync_twins(v1_routes: Sequence[ApiRoute]) -> list[BaseRoute]:
    """The twins of the /v1 routes under the table's prefixes, then the slash-less redirects."""
    routes: list[BaseRoute] = []
    redirects: dict[str, set[str]] = defaultdict(set)
    for route in v1_routes:
        alias = wbsync_path(route.path)
        if alias is None:
            continue
        routes.append(route.twin(alias, alias_of=route.path, tags=[TAG]))
        redirects[alias.removesuffix("/")] |= route.methods or set()
    # A redirect's template has no trailing slash, so it never takes a twin's request.
    for path, methods in redirects.items():
        routes.append(
            Route(path, _with_trailing_slash, methods=sorted(methods), include_in_schema=False)
        )
    return routes
