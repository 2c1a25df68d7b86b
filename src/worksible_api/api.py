"""The one list of routers under /v1, and their WBSync paths (wbsync.py), as flat lists of
routes for the app to try in order.

Flat, not included: FastAPI (0.165) keeps an included router as a node it walks on every
request, a version check over every nested router and then the same match again to handle it,
which took 0.1 to 1.3 ms to find a /v1 route (more for later routers). A flat list costs one
path match per route tried, and the routes a path's first segments allow are all a request
tries (pipeline/route_index.py).
"""

from fastapi import APIRouter
from starlette.routing import BaseRoute

from worksible_api.domains.api_keys.router import router as api_keys_router
from worksible_api.domains.balances.router import router as balances_router
from worksible_api.domains.changelog.router import router as changelog_router
from worksible_api.domains.clock_events.router import router as clock_events_router
from worksible_api.domains.contracts.router import router as contracts_router
from worksible_api.domains.cost_codes.router import router as cost_codes_router
from worksible_api.domains.events.router import router as events_router
from worksible_api.domains.evm.router import router as evm_router
from worksible_api.domains.freelancers.router import router as freelancers_router
from worksible_api.domains.invoices.router import router as invoices_router
from worksible_api.domains.kiosks.router import router as kiosks_router
from worksible_api.domains.members.router import router as members_router
from worksible_api.domains.organizations.router import legacy_router as company_alias_router
from worksible_api.domains.organizations.router import router as organizations_router
from worksible_api.domains.payments.router import router as payments_router
from worksible_api.domains.payouts.router import router as payouts_router
from worksible_api.domains.projects.router import router as projects_router
from worksible_api.domains.request_logs.router import router as request_logs_router
from worksible_api.domains.timesheets.router import router as timesheets_router
from worksible_api.domains.users.router import router as users_router
from worksible_api.domains.wbs.router import router as wbs_router
from worksible_api.domains.webhooks.router import router as webhooks_router
from worksible_api.pipeline import ApiRoute
from worksible_api.wbsync import wbsync_twins

V1_PREFIX = "/v1"
V1_ROUTERS: tuple[APIRouter, ...] = (
    organizations_router,
    freelancers_router,
    balances_router,
    projects_router,
    wbs_router,
    evm_router,
    members_router,
    cost_codes_router,
    contracts_router,
    timesheets_router,
    kiosks_router,
    clock_events_router,
    invoices_router,
    payments_router,
    payouts_router,
    api_keys_router,
    request_logs_router,
    users_router,
    events_router,
    webhooks_router,
    changelog_router,
    company_alias_router,
)


def _under_v1(route: BaseRoute) -> ApiRoute:
    if not isinstance(route, ApiRoute):
        raise TypeError(f"{route!r}: every /v1 route is declared with ApiRoute")
    return route.twin(V1_PREFIX + route.path)


v1_routes: list[ApiRoute] = [_under_v1(route) for router in V1_ROUTERS for route in router.routes]
# Built from the /v1 routes above: the app tries them after those.
wbsync_routes: list[BaseRoute] = wbsync_twins(v1_routes)
