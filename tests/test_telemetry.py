"""FastAPI's OpenTelemetry instrumentation runs only when OPENTELEMETRY asks for it."""

import httpx
import pytest
from opentelemetry import trace

from worksible_api.app import create_app
from worksible_api.config import Settings


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
