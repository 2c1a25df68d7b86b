"""The scaleout group of `make bench`: the service as two identical instances (docs/scaling.md).

- `scaleout_single`, `scaleout_pair`: `GET /v1/freelancers/{id}` against the run's service (one
  instance, BENCH_CONNECTIONS connections) and against two more instances started alike on the
  same PostgreSQL and Redis (half the connections each, one wrk per instance, at the same
  time), in turns. CPU per request is over every process of the instances.
- `scaleout_idempotency`, `scaleout_revocation`: checked on those two instances.
- `scaleout_rate_limit`: checked on two instances started again with a tight key bucket: the
  run lifts every limit for the load, and RATE_LIMIT_KEY_* holds for every plan.
"""

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from loadgen import Window, measure_in_turns
from procs import Server, side_services, stop
from scenarios import Context, Result, _details, _result

ME = "/v1/companies/me"
# Five requests, then one token every five seconds: nothing refills while the check runs.
TIGHT_KEY_BUCKET = {"RATE_LIMIT_KEY_PER_SECOND": "0.2", "RATE_LIMIT_KEY_BURST": "5"}
# API.md §12, docs/scaling.md: a revoke binds on every instance within 5 seconds.
REVOCATION_BOUND = 5.0


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]


def _request(
    server: Server,
    method: str,
    path: str,
    key: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request on a new connection, so that successive ones reach any worker."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    sent = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **(headers or {})}
    try:
        conn.request(method, path, json.dumps(body).encode() if body is not None else None, sent)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    answer = json.loads(payload) if payload.startswith(b"{") else {}
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, answer)


def _new_key(server: Server, master: str, name: str) -> tuple[str, str]:
    created = _request(server, "POST", "/v1/api-keys", master, {"name": name, "scopes": ["*"]})
    if created.status != 201:
        raise RuntimeError(f"POST /v1/api-keys answered {created.status}: {created.body}")
    return created.body["key"], created.body["id"]


def _check(name: str, passed: bool, detail: str, **figures: Any) -> Result:
    print(f"bench: {name}: {'PASS' if passed else 'FAIL'}: {detail}", flush=True)
    return Result(name, extra={"passed": passed, "note": detail, **figures})


def _guarded(name: str, check: Callable[[], Result]) -> Result:
    """A check that could not be made (an unexpected answer, a connection refused) fails."""
    try:
        return check()
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        return _check(name, False, f"error: {exc!r}"[:300])


def _rate_limit(a: Server, b: Server, master: str) -> Result:
    """A new key's bucket drained through A; B must refuse the key, and still take another."""
    key, _ = _new_key(a, master, "bench scaleout rate limit")
    statuses: list[int] = []
    for _ in range(int(TIGHT_KEY_BUCKET["RATE_LIMIT_KEY_BURST"]) + 3):
        statuses.append(_request(a, "GET", ME, key).status)
        if statuses[-1] == 429:
            break
    on_b = _request(b, "GET", ME, key)
    other = _request(b, "GET", ME, master).status
    passed = statuses[-1] == 429 and on_b.status == 429 and other == 200
    detail = (
        f"A answered {statuses}; then B {on_b.status} (X-RateLimit-Remaining "
        f"{on_b.headers.get('x-ratelimit-remaining')}, Retry-After "
        f"{on_b.headers.get('retry-after')}); another key on B {other}"
    )
    return _check("scaleout_rate_limit", passed, detail)


def _idempotency(a: Server, b: Server, master: str, tag: str) -> Result:
    """A create with an Idempotency-Key on A, the same request on B: the first answer again."""
    body = {
        "email": f"scaleout-{tag}@bench.example",
        "first_name": "Scale",
        "last_name": "Out",
        "country": "DE",
        "default_currency": "EUR",
    }
    headers = {"Idempotency-Key": f"scaleout-{tag}"}
    first = _request(a, "POST", "/v1/freelancers", master, body, headers)
    replay = _request(b, "POST", "/v1/freelancers", master, body, headers)
    replayed = replay.headers.get("idempotent-replayed")
    passed = (
        first.status == 201
        and first.headers.get("idempotent-replayed") != "true"
        and replay.status == first.status
        and replay.body.get("id") == first.body.get("id")
        and replayed == "true"
    )
    detail = (
        f"A answered {first.status} id {first.body.get('id')}; B {replay.status} id "
        f"{replay.body.get('id')}, Idempotent-Replayed: {replayed}"
    )
    return _check("scaleout_idempotency", passed, detail)


def _revocation(a: Server, b: Server, master: str) -> Result:
    """A key B has just accepted, revoked through A, then tried on B every 0.1 s for a second
    past the bound: every answer from REVOCATION_BOUND on must be 401."""
    key, key_id = _new_key(a, master, "bench scaleout revocation")
    before = [_request(server, "GET", ME, key).status for server in (b, b, b, a)]
    revoked = _request(a, "DELETE", f"/v1/api-keys/{key_id}", master)
    since = time.monotonic()
    polls: list[tuple[float, int]] = []
    while (elapsed := time.monotonic() - since) < REVOCATION_BOUND + 1:
        polls.append((elapsed, _request(b, "GET", ME, key).status))
        time.sleep(0.1)
    accepted = [at for at, status in polls if status != 401]
    late = [status for at, status in polls if at >= REVOCATION_BOUND]
    passed = set(before) == {200} and revoked.status == 200 and bool(late) and set(late) == {401}
    refused_from = None  # the first try from which every answer was 401
    for at, status in reversed(polls):
        if status != 401:
            break
        refused_from = at
    detail = (
        f"before the revoke B and A answered {before}; DELETE on A {revoked.status}; on B "
        f"401 from {'-' if refused_from is None else f'{refused_from:.2f}'} s on, the last "
        f"other answer at {f'{accepted[-1]:.2f}' if accepted else '-'} s ({len(polls)} tries "
        f"over {polls[-1][0]:.1f} s)"
    )
    return _check("scaleout_revocation", passed, detail, refused_after_s=refused_from)


@contextmanager
def _instances(
    env: dict[str, str], workers: int, suffix: str = ""
) -> Iterator[tuple[Server, Server]]:
    """Instances A and B of the service, stopped on the way out; their logs are
    bench/.instance-a<suffix>.log and bench/.instance-b<suffix>.log."""
    names = (f"instance-a{suffix}", f"instance-b{suffix}")
    with side_services(workers, dict.fromkeys(names, env)) as (a, b):
        yield a, b


def _rate_limit_restarted(env: dict[str, str], workers: int, master: str) -> Result:
    # Logs of their own: the measured pair's stay for reading.
    with _instances({**env, **TIGHT_KEY_BUCKET}, workers, "-tight") as (a, b):
        return _rate_limit(a, b, master)


def run(ctx: Context, env: dict[str, str], workers: int) -> list[Result]:
    # Nothing here is compared with the baseline: stopped, its PostgreSQL connections go to
    # the two instances (max_connections is 100 by default). run.py runs this group last.
    stop(ctx.baseline.process)
    with _instances(env, workers) as (a, b):
        args = {"mode": "get", "key": ctx.key, "ids": str(ctx.ids_file)}
        single, pair = measure_in_turns(
            [
                Window(ctx.service, f"{ctx.run_tag}so1", args),
                Window(a, f"{ctx.run_tag}so2", args, peers=(b,)),
            ],
            ctx.load,
            ctx.sessions,
        )
        idempotency = _guarded(
            "scaleout_idempotency", lambda: _idempotency(a, b, ctx.key, ctx.run_tag)
        )
        revocation = _guarded("scaleout_revocation", lambda: _revocation(a, b, ctx.key))
    rate_limit = _guarded(
        "scaleout_rate_limit", lambda: _rate_limit_restarted(env, workers, ctx.key)
    )
    one = Result(
        "scaleout_single", single.rps, single.p50_ms, single.p99_ms, extra=_details(single)
    )
    two = _result("scaleout_pair", pair, single)
    two.extra |= {"compared_with": "one instance (scaleout_single)", "instances": 2}
    return [one, two, rate_limit, idempotency, revocation]
