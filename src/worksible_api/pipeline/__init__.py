"""The request pipeline: how every API operation runs, declared once per route.

`ApiRoute` (route.py) runs a route's guards (key and scope, or a kiosk's secret), reads the
body outside the deadline, then the endpoint in one transaction within the deadline
(deadline.py, transaction.py), with the idempotency guard on writes. FastAPI routes the
request and documents the route; the route's dependencies, parameters and answer are handled
as FastAPI handles them, by a plan compiled from the same declaration when the route is made
(handler.py, solver.py, params.py). `path_object`
(loaders.py) loads the object a path names. Retrieves are answered from rows by the direct
reads (direct_reads.py), derived from the same routes.

The layers below (db, auth, idempotency) know nothing of it.
"""

from worksible_api.pipeline.deadline import Deadline, within_deadline
from worksible_api.pipeline.loaders import path_object
from worksible_api.pipeline.route import ApiRoute
from worksible_api.pipeline.transaction import SessionDep, in_transaction

__all__ = ["ApiRoute", "Deadline", "SessionDep", "in_transaction", "path_object", "within_deadline"]
