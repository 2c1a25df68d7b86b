"""FastAPI's OpenTelemetry instrumentation runs only when OPENTELEMETRY asks for it, and its
layers are in the stack only then."""

from typing import Any

import httpx
import pytest
from fastapi.telemetry._asgi import ExceptionTelemetryMiddleware
from opentelemetry import trace
from starlette.middleware.errors import ServerErrorMiddleware

from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.middleware.request_context import RequestContextMiddleware


@pytest.mark.parametrize("enabled", [False, True])
async def test_opentelemetry_is_looked_up_only_when_enabled(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    lookups = []
    real_provider = trace.get_tracer_provider

    def counted_provider() -> trace.TracerProvider:
        lookups.append(1)
        return real_provider()

    monkeypatch.setattr(trace, "get_tracer_provider", counted_provider)
    app = create_app(settings.model_copy(update={"opentelemetry": enabled}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        assert (await client.get("/openapi.json")).status_code == 200
    assert bool(lookups) is enabled


@pytest.mark.parametrize("enabled", [False, True])
async def test_fastapis_layers_that_would_only_pass_requests_on_are_left_out(
    settings: Settings, enabled: bool
) -> None:
    app = create_app(settings.model_copy(update={"opentelemetry": enabled}))
    stack = app.build_middleware_stack()
    assert isinstance(stack, ServerErrorMiddleware)
    below: Any = stack.app
    if enabled:  # the exception telemetry records what escapes, for the spans
        assert isinstance(below, ExceptionTelemetryMiddleware)
        below = below.app
    # No application-wide body limit is set: request_body.py bounds bodies.
    assert isinstance(below, RequestContextMiddleware)
