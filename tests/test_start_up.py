"""What a process does once, when it starts (app.py's lifespan)."""

import gc

import pytest
from fastapi import FastAPI
from starlette.datastructures import State


def test_what_start_up_made_is_out_of_the_collectors_sight(app: FastAPI) -> None:
    """The app, its routes and models live as long as the process: a full collection does not
    walk them again and again (docs/benchmark.md: ~80 µs of CPU a list page)."""
    collected = {id(tracked) for generation in range(3) for tracked in gc.get_objects(generation)}
    assert gc.get_freeze_count() > 50_000
    assert id(app) not in collected
    assert not any(id(route) in collected for route in app.router.routes)


def test_the_apps_state_is_read_as_plain_attributes(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path reads several values of `app.state` a request: not through State's
    `__getattr__` (app.py `_AppState`), yet set, changed and deleted as before."""
    app.state.probe = "first"
    app.state.probe = "kept"

    def never(self: State, key: str) -> None:
        raise AssertionError(f"{key} was looked up through __getattr__")

    with monkeypatch.context() as patched:
        patched.setattr(State, "__getattr__", never)
        assert app.state.probe == "kept"
    assert app.state._state["probe"] == "kept"
    del app.state.probe
    assert not hasattr(app.state, "probe")
