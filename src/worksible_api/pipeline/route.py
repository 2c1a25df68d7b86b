"""The route class every API operation is declared with: guards, body, deadline, one
transaction and the idempotency guard, in that order."""

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from enum import Enum
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute, _effective_route_context_var
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from worksible_api.guards import guards_of
from worksible_api.idempotency import service as idempotency
from worksible_api.pipeline.deadline import Deadline
from worksible_api.pipeline.handler import RequestHandler
from worksible_api.pipeline.transaction import READ_METHODS, in_transaction
from worksible_api.request_body import ApiRequest

# The request being handled, for the idempotency guard that wraps endpoints.
_current_request: ContextVar[ApiRequest] = ContextVar("worksible_current_request")

IDEMPOTENCY_PARAMETER = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: the same key and request within 24 hours "
    "returns the first 2xx response (with `Idempotent-Replayed: true`) instead of running again.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
}


def _run_once_per_key(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a write endpoint in the idempotency guard (API.md §5).

    It runs where the route's handler calls the endpoint: after authentication, scope, path
    objects and body validation, so those checks keep their order and their answers are never
    kept. A route that takes no body has its body checked here, as the handler checks the
    others' (§12).
    """

    @functools.wraps(endpoint)
    async def guarded(**kwargs: Any) -> Any:
        request = _current_request.get()
        route: APIRoute = request.scope["route"]
        if route.body_field is None:
            error = await request.no_body_error()
            if error is not None:
                raise error
        principal = request.scope["state"].get("principal")
        if principal is None:
            return await endpoint(**kwargs)
        outcome = await idempotency.begin(
            request,
            request.scope["state"]["db"],
            request.app.state.idempotency_cache,
            principal.organization_id,
            principal.credential,
        )
        if isinstance(outcome, Response):
            return outcome
        request.scope["state"]["idempotency_claim"] = outcome
        return await endpoint(**kwargs)

    return guarded


class ApiRoute(APIRoute):
    """Runs each request in one transaction, committed once after a successful endpoint.

    The route's guards (guards.py: the key and its scope, or a kiosk's secret) run first, then
    the body is read, then everything else, in one transaction, within the request's deadline.
    Services and repositories only flush. The commit happens before the response is sent, so
    a client never sees a 2xx for a write that did not commit. Write routes also take an
    Idempotency-Key: the kept response is written in that same transaction.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        alias_of: str | None = None,
        **kwargs: Any,
    ) -> None:
        # The declaration as the router made it, for `twin` to make it again at another path.
        self._declared_endpoint, self._declared = endpoint, dict(kwargs)
        # The full path of the operation this route answers again (`twin`), or None.
        self.alias_of = alias_of
        if set(kwargs.get("methods") or ()) & idempotency.WRITE_METHODS:
            endpoint = _run_once_per_key(endpoint)
            extra = dict(kwargs.get("openapi_extra") or {})
            extra["parameters"] = [*extra.get("parameters", []), IDEMPOTENCY_PARAMETER]
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)
        # FastAPI's wrapper (`request_response`) would open three exit stacks a request for
        # dependencies that yield, which API routes refuse (solver.py), and handle exceptions
        # once more inside the app's own handling of them: the route is its own ASGI app.
        self.app = self._serve
        self.guards = guards_of(self.dependant)
        # The path up to its first parameter, which every path this route matches begins with.
        self._literal_prefix = path.partition("{")[0]

    def twin(
        self, path: str, *, alias_of: str | None = None, tags: list[str | Enum] | None = None
    ) -> "ApiRoute":
        """The same operation at another path: the same endpoint function, dependencies,
        response model and scope, built from the same declaration (so the endpoint is wrapped
        once, as this route's is), under its own tags unless others are given."""
        declared = self._declared if tags is None else {**self._declared, "tags": tags}
        return type(self)(path, self._declared_endpoint, alias_of=alias_of, **declared)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # The app tries its routes in order (api.py); most are refused by their first
        # segments, without FastAPI's route-context lookup and the regex (~1 µs each).
        if not get_route_path(scope).startswith(self._literal_prefix):
            return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler: Callable[[Request], Coroutine[Any, Any, Response]]
        if _effective_route_context_var.get() is not None:
            # FastAPI keeps a route included in a router with more of its own (a prefix,
            # dependencies) beside the route, and builds that one's handler with it: FastAPI's
            # handler for that declaration, in our pipeline. The app includes none (api.py).
            handler = super().get_route_handler()
        else:
            # The route's own, answering every request it routes (`_serve`).
            handler = self.handler = RequestHandler(self)

        async def route_handler(request: Request) -> Response:
            return await self._run(ApiRequest(request.scope, request.receive), handler)

        return route_handler

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._run(ApiRequest(scope, receive), self.handler)
        await response(scope, receive, send)

    async def _run(
        self, request: ApiRequest, handler: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Response:
        deadline = Deadline(request.app.state.settings.request_deadline_seconds)
        token = _current_request.set(request)
        try:
            if request.method in READ_METHODS:
                # No body to wait for: guards and work in one task.
                return await deadline.run(self._read(request, handler), request)
            if self.guards:
                await deadline.run(self._check_guards(request), request)
            # The client's time, not ours: outside the deadline (API.md §12).
            await request.body()
            return await deadline.run(in_transaction(request, handler), request)
        finally:
            _current_request.reset(token)

    async def _check_guards(self, request: Request) -> None:
        for guard in self.guards:
            await guard(request)

    async def _read(
        self, request: ApiRequest, handler: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Response:
        await self._check_guards(request)
        return await in_transaction(request, handler)
