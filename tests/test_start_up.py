"""What a process does once, when it starts (app.py's lifespan)."""

import gc

from fastapi import FastAPI


def test_what_start_up_made_is_out_of_the_collectors_sight(app: FastAPI) -> None:
    """The app, its routes and models live as long as the process: a full collection does not
    walk them again and again (docs/benchmark.md: ~80 µs of CPU a list page)."""
    collected = {id(tracked) for generation in range(3) for tracked in gc.get_objects(generation)}
    assert gc.get_freeze_count() > 50_000
    assert id(app) not in collected
    assert not any(id(route) in collected for route in app.router.routes)
