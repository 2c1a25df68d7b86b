"""Serves the OpenAPI document at `app.openapi_url`, built once, on the first request for it.

The builder (openapi.py) reads every route, model and error of the API, and the request path
never needs it: it is imported when the document is first asked for, so the service depends
on its documentation only for serving it, never the other way round.
"""

from typing import Any

from fastapi import FastAPI


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from worksible_api.openapi import build_openapi

            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
