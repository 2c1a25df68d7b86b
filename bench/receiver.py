"""A webhook receiver for `make bench`: verifies each delivery's signature with the
`standardwebhooks` library, as an integrator's would, and answers 204 (401 when it does not
verify). GET /count tells how many verified and how many did not.

Run by bench/events_cost.py as `uvicorn receiver:app --app-dir bench` with WEBHOOK_SECRET.
"""

import os

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_webhook = Webhook(os.environ["WEBHOOK_SECRET"])
_counts = {"verified": 0, "refused": 0}


async def hook(request: Request) -> Response:
    body = await request.body()
    try:
        _webhook.verify(body, dict(request.headers))
    except WebhookVerificationError:
        _counts["refused"] += 1
        return Response(status_code=401)
    _counts["verified"] += 1
    return Response(status_code=204)


async def count(request: Request) -> Response:
    return JSONResponse(_counts)


async def healthz(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        Route("/hook", hook, methods=["POST"]),
        Route("/count", count),
        Route("/healthz", healthz),
    ]
)
