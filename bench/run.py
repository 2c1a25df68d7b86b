"""`make bench`: the service as users feel it, beside what the hardware allows, in one run.

Setup (seed.py) -> both servers as real processes (procs.py) -> wrk scenarios (scenarios.py,
loadgen.py, scenario.lua) -> table, PASS/FAIL per target and bench/results.json (report.py).
Everything is bounded in time and every process started is stopped in the `finally`, also on
Ctrl-C. Settings (environment): see docs/benchmark.md.
"""

import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dashboard
import events_cost
import scaleout
import scenarios
import seed
from loadgen import Load, ensure_wrk
from procs import run_bounded, start_baseline, start_service, stop_all
from report import check_targets, notes, table, write

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results.json"
ALL_GROUPS = (
    "get",
    "list",
    "contract",
    "timesheets",
    "sync",
    "create",
    "approve",
    "finalize",
    "ingest",
    "auth",
    "unauth",
    "events",
    "dashboard",
    "scaleout",
    "evm",
)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _evm(env: dict[str, str]) -> list[dict[str, Any]]:
    """evm and s_curve from bench/evm_bench.py (another engineer's), when it exists. It times
    sequential requests in process and prints one JSON document with `timings`."""
    script = BENCH / "evm_bench.py"
    if not script.exists():
        return []
    try:
        # --keep: the whole bench database is dropped at the end; deleting the organization
        # first would cascade over 100,000 rows and take minutes.
        done = run_bounded(
            [sys.executable, str(script), "--keep"], timeout=600, env=env, cwd=BENCH.parent
        )
    except subprocess.TimeoutExpired:
        return [{"name": "evm", "skipped": "bench/evm_bench.py took over 600 s"}]
    start = done.stdout.find("{")
    try:
        timings = json.loads(done.stdout[start:])["timings"] if start >= 0 else None
    except (ValueError, KeyError):
        timings = None
    if done.returncode != 0 or not timings:
        reason = (done.stderr.strip().splitlines() or ["no JSON timings on stdout"])[-1][:200]
        return [{"name": "evm", "skipped": f"bench/evm_bench.py: {reason}"}]
    out = []
    for name, case in (("evm", "evm_project"), ("s_curve", "s_curve_52_weeks")):
        t = timings.get(case)
        if t:
            out.append(
                {
                    "name": name,
                    "rps": round(1000 / t["p50_ms"], 1) if t["p50_ms"] else None,
                    "p50_ms": t["p50_ms"],
                    "p99_ms": t.get("max_ms"),
                    "baseline_rps": None,
                    "ratio": None,
                    "p95_ms": t.get("p95_ms"),
                    "mode": f"{case}: sequential, in process; p99 is the max of the rounds",
                }
            )
    return out


def _dashboard(servers: seed.Servers, env: dict[str, str], service: Any) -> list[Any]:
    """The request log at BENCH_LOG_ROWS rows (bench/dashboard.py): seeded once per run."""
    rows, days = _env_int("BENCH_LOG_ROWS", 1_000_000), _env_int("BENCH_LOG_DAYS", 30)
    seeded = dashboard.seed(env, servers.database_dsn(), service, rows, days)
    loaded = seeded.loaded
    print(
        f"bench: dashboard: {rows:,} request-log rows over {days} days seeded in "
        f"{seeded.seconds:.1f} s (rows {loaded.insert_s:.1f}, rollups {loaded.rollup_s:.1f}, "
        f"indexes and foreign keys {loaded.index_s:.1f}, VACUUM ANALYZE {loaded.vacuum_s:.1f}; "
        f"the organization, its keys and owner {seeded.setup_s:.1f})",
        flush=True,
    )
    cookie = dashboard.sign_in(service, seeded.invite_url)
    results = dashboard.measure(
        service, seeded, cookie, days, _env_int("BENCH_DASHBOARD_ROUNDS", 5)
    )
    results[0].extra |= {
        "log_rows": rows,
        "log_days": days,
        "seed_seconds": round(seeded.seconds, 1),
    }
    return results


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    load = Load.from_env()
    workers = _env_int("BENCH_WORKERS", 2)
    freelancers = _env_int("BENCH_FREELANCERS", 10_000)
    groups = [g.strip() for g in os.environ.get("BENCH_SCENARIOS", ",".join(ALL_GROUPS)).split(",")]
    run_tag = secrets.token_hex(3)
    prefix = f"wsk:bench:{run_tag}:"
    load_before = os.getloadavg()
    ensure_wrk()
    servers = seed.resolve_servers()
    print(
        f"bench: PostgreSQL/Redis from {servers.origin}; {workers} workers each; wrk "
        f"-t{load.threads} -c{load.connections}, {load.warmup:g} s warm-up + {load.duration:g} s "
        f"per window",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="wsk-bench-") as scratch:
        try:
            started = time.monotonic()
            seeded = seed.prepare(servers, prefix, freelancers)
            print(
                f"bench: seeded {seeded.counts} in {time.monotonic() - started:.1f} s", flush=True
            )
            ids_file, clocking_file = Path(scratch, "ids.txt"), Path(scratch, "clocking.txt")
            ids_file.write_text("\n".join(seeded.freelancer_ids) + "\n")
            clocking_file.write_text("\n".join(seeded.clocking_ids) + "\n")
            files = {"contracts": Path(scratch, "contracts.txt")}
            files["contracts"].write_text("\n".join(seeded.contract_ids) + "\n")
            # Before the seed: a sync that has every freelancer still to read.
            files["sync"] = Path(scratch, "sync.txt")
            files["sync"].write_text("2020-01-01T00:00:00Z\n")
            # An action changes its object: each server gets its own share, the baseline (the
            # faster) two thirds.
            for name, ids in (("approve", seeded.submitted_ids), ("finalize", seeded.draft_ids)):
                shares = {"service": ids[::3], "baseline": ids[1::3] + ids[2::3]}
                for server, share in shares.items():
                    files[f"{name}_{server}"] = Path(scratch, f"{name}_{server}.txt")
                    files[f"{name}_{server}"].write_text("\n".join(share) + "\n")
            env = seed.service_env(servers, prefix)
            dsn = servers.database_dsn()
            service = start_service(env, workers)
            baseline = start_baseline(env, workers, seeded.organization_id)
            ctx = scenarios.Context(
                service,
                baseline,
                seeded.key,
                load,
                run_tag,
                ids_file,
                clocking_file,
                seeded.clocking_ids,
                sessions=lambda: seed.sessions_opened(servers),
                files=files,
            )
            steps = [
                ("get", lambda: [scenarios.get_freelancer(ctx)]),
                ("list", lambda: [scenarios.list_freelancers(ctx)]),
                ("contract", lambda: [scenarios.get_contract(ctx)]),
                ("timesheets", lambda: [scenarios.list_timesheets(ctx)]),
                ("sync", lambda: [scenarios.sync_freelancers(ctx)]),
                ("create", lambda: scenarios.create_freelancers(ctx)),
                ("approve", lambda: [scenarios.approve_timesheets(ctx)]),
                ("finalize", lambda: [scenarios.finalize_invoices(ctx)]),
                ("ingest", lambda: [scenarios.clock_ingest(ctx)]),
                (
                    "auth",
                    lambda: scenarios.auth(
                        ctx, _env_int("BENCH_COLD_KEYS", 50), _env_int("BENCH_WARM_REQUESTS", 1000)
                    ),
                ),
                (
                    "unauth",
                    lambda: scenarios.unauthenticated_body(
                        ctx, _env_int("BENCH_UNAUTH_REQUESTS", 500)
                    ),
                ),
                ("events", lambda: [events_cost.write_cost(ctx, env, dsn, workers)]),
                (
                    "events",
                    lambda: [
                        events_cost.delivery_rate(
                            ctx,
                            env,
                            dsn,
                            seeded.organization_id,
                            _env_int("BENCH_WEBHOOK_EVENTS", 5000),
                        )
                    ],
                ),
                ("dashboard", lambda: _dashboard(servers, env, service)),
                # Last: it stops the baseline (events did already), to give its connections
                # to two more instances.
                ("scaleout", lambda: scaleout.run(ctx, env, workers)),
            ]
            for group, step in steps:
                if group in groups:
                    print(f"bench: {group} ...", flush=True)
                    try:
                        results.extend(result.as_json() for result in step())
                    except (RuntimeError, OSError, ValueError) as exc:  # report it, go on
                        print(f"bench: {group} failed: {exc}", file=sys.stderr, flush=True)
                        results.append({"name": group, "skipped": f"error: {str(exc)[:160]}"})
            profiled = os.environ.get("BENCH_PROFILE", "0")
            if profiled != "0":
                from spy import profile

                print(f"bench: profiling {profiled} with py-spy ...", flush=True)
                extra["profile"] = profile(service, load, ids_file, seeded.key, run_tag, profiled)
            if "evm" in groups and (BENCH / "evm_bench.py").exists():
                print("bench: evm (bench/evm_bench.py) ...", flush=True)
                results.extend(_evm(env))
        finally:
            stop_all()
            try:
                seed.forget_redis_keys(servers.redis_url, prefix)
            except Exception as exc:
                print(f"bench: could not clean Redis keys {prefix}*: {exc!r}", file=sys.stderr)
            if os.environ.get("BENCH_KEEP_DB", "0") != "1":
                import asyncio

                asyncio.run(seed.drop_database(servers))
    targets = check_targets(results)
    payload = {
        "scenarios": results,
        "targets": targets,
        **extra,
        "settings": {
            **asdict(load),
            "workers": workers,
            "freelancers": freelancers,
            "servers": servers.origin,
            "rate_limits": "lifted (1e6/s)",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    write(RESULTS, payload)
    print()
    print(table(results, targets))
    print()
    for line in notes(results):
        print(f"  {line}")
    if payload["machine"]["loadavg_before"][0] > 0.5:
        print(
            f"  note: load average {payload['machine']['loadavg_before'][0]} before the run: "
            "other work shares the 2 cores, figures are noisy"
        )
    print(f"\nwrote {RESULTS.relative_to(BENCH.parent)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted; processes stopped", file=sys.stderr)
        sys.exit(130)
