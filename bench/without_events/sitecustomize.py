"""The service as it was before it emitted events: `make bench`'s "the same write before".

bench/events_cost.py starts a second service with this directory on PYTHONPATH; Python runs
this file at start-up in the supervisor and in every uvicorn worker, before the services
import `emit`, so each of them binds the version that does nothing. Everything else (the
request path, the SQL of the write, the pools) is the service unchanged.
"""

from typing import Any

from worksible_api.domains.events import emitter


def _not_emitted(*args: Any, **kwargs: Any) -> None:
    return None


emitter.emit = _not_emitted
