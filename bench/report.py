"""The table on stdout, the targets (PASS/FAIL, never an exit code) and bench/results.json."""

import json
import operator
from pathlib import Path
from typing import Any

# The scenarios each goal of the issue "One request pipeline, lean everywhere" holds for: on
# every resource, not one showcase route. A new scenario of a kind goes into its tuple.
GET_BY_ID = ("get_freelancer", "get_contract")
LIST_PAGES = ("list_freelancers", "list_timesheets", "sync_freelancers")
CREATES = ("create_freelancer",)
WARM_AUTH = ("auth_warm", "auth_warm_routed")
SCALEOUT_CHECKS = {
    "scaleout_rate_limit": "a key's bucket drained through instance A is empty on B",
    "scaleout_idempotency": "an Idempotency-Key sent to A replays on B: same id, replay header",
    "scaleout_revocation": "a key revoked through A is refused (401) on B within 5 s",
}

# (scenario, field, comparison, bound, meaning). `cpu_ratio` is the baseline's CPU per request
# over the service's (bench/baseline.py, the same run, in turns).
TARGETS: tuple[tuple[str, str, str, float | bool, str], ...] = (
    *(
        (name, "cpu_ratio", ">=", 0.5, "GET by id >= 0.5x the baseline by CPU/request")
        for name in GET_BY_ID
    ),
    *(
        (name, "cpu_ratio", ">=", 0.35, "list page of 50 >= 0.35x the baseline by CPU/request")
        for name in LIST_PAGES
    ),
    *(
        (name, "cpu_ratio", ">=", 0.25, "create >= 0.25x the baseline by CPU/request")
        for name in CREATES
    ),
    (
        "create_freelancer_idempotent",
        "cost_vs_create_cpu",
        "<=",
        1.2,
        "idempotent create <= 1.2x a plain create (CPU/request, in turns)",
    ),
    *(
        (
            name,
            "added_cpu_us",
            "<",
            300.0,
            "warm auth < 0.3 ms CPU: the probe's CPU/request minus /healthz's, sequential, same "
            "connection and run (upper bound: includes the 404 and the request-log record)",
        )
        for name in WARM_AUTH
    ),
    # docs/scaling.md: two instances on one PostgreSQL and one Redis share their state.
    *((name, "passed", "==", True, meaning) for name, meaning in SCALEOUT_CHECKS.items()),
    # API.md section 12: work before authentication is bounded.
    # The body's cost over the empty refusal's, against what receiving it unread costs the bare
    # app's refusal of the same kind: the kernel's share, which no server avoids while it keeps
    # the connection (docs/decisions.md, "A refused body is drained, not cut off").
    (
        "unauth_1mib",
        "body_vs_bare",
        "<=",
        1.5,
        "refused 1 MiB POST: the body costs what it costs a bare server that never reads it",
    ),
    (
        "wrong_key_1mib",
        "body_vs_bare",
        "<=",
        1.5,
        "1 MiB with a wrong key: the same, against a bare refusal after one PostgreSQL lookup",
    ),
    # API.md section 16: what events cost.
    (
        "create_with_events",
        "cost_vs_without_events_cpu",
        "<=",
        1.1,
        "a write that emits an event <= 1.1x the same write without (CPU)",
    ),
    ("webhook_delivery", "rps", ">=", 500.0, "one process delivers >= 500 events/s"),
    # The issue "The dashboard": the request log of an organization with 1,000,000 rows.
    (
        "dashboard_log_page",
        "p99_ms",
        "<",
        300.0,
        "request log page of 50 rows with filters, at 1M rows < 300 ms",
    ),
    ("dashboard_charts", "p99_ms", "<", 500.0, "the charts' aggregates at 1M rows < 500 ms"),
    ("dashboard_overview", "p99_ms", "<", 500.0, "overview (24 h of aggregates) < 500 ms"),
    # From bench/evm_bench.py's own targets (API.md section 13).
    ("evm", "p50_ms", "<", 200.0, "earned value of a 2,000-element project < 200 ms"),
    ("s_curve", "p50_ms", "<", 1000.0, "52-week S-curve < 1 s"),
)


OPERATORS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}
# More new PostgreSQL connections than this in one window is worth a note.
CHURN_ABOVE = 10
# A scenario with more failed responses than this (of all) is not judged.
INVALID_ABOVE = 0.01


def check_targets(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {scenario["name"]: scenario for scenario in scenarios}
    checked = []
    for name, field, op, bound, meaning in TARGETS:
        value = by_name.get(name, {}).get(field)
        if value is None:
            verdict = "n/a"
        elif by_name[name].get("failed_fraction", 0) > INVALID_ABOVE:
            verdict = "INVALID"  # too many failed responses to judge
        else:
            verdict = "PASS" if OPERATORS[op](value, bound) else "FAIL"
        checked.append(
            {
                "scenario": name,
                "field": field,
                "target": f"{op} {bound}",
                "value": value,
                "result": verdict,
                "meaning": meaning,
            }
        )
    return checked


def _cell(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(scenarios: list[dict[str, Any]], targets: list[dict[str, Any]]) -> str:
    """Server CPU per request first (service, baseline, their ratio): measured per process, it
    holds when other work shares the cores; throughput and latency beside it."""
    verdicts: dict[str, str] = {}
    for t in targets:
        verdict = f"{t['result']} ({t['field']} {t['target']})"
        verdicts[t["scenario"]] = "; ".join(filter(None, [verdicts.get(t["scenario"]), verdict]))
    header = (
        "scenario",
        "cpu us/req",
        "baseline us/req",
        "cpu ratio",
        "rps",
        "baseline rps",
        "ratio",
        "p50 ms",
        "p99 ms",
        "target",
    )
    rows = [header]
    for s in scenarios:
        if s.get("skipped"):
            rows.append((s["name"], "skipped", "", "", "", "", "", "", "", s["skipped"]))
            continue
        rows.append(
            (
                s["name"],
                _cell(s.get("cpu_us_per_request"), 0),
                _cell(s.get("baseline_cpu_us_per_request"), 0),
                _cell(s.get("cpu_ratio"), 2),
                _cell(s["rps"]),
                _cell(s["baseline_rps"]),
                _cell(s["ratio"], 2),
                _cell(s["p50_ms"], 2),
                _cell(s["p99_ms"], 2),
                verdicts.get(s["name"], "") or (f"{s['errors']} failed" if s.get("errors") else ""),
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            str(c).ljust(w) if i in (0, len(header) - 1) else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def notes(scenarios: list[dict[str, Any]]) -> list[str]:
    out = []
    for s in scenarios:
        name = s["name"]
        if "cost_vs_create_p50" in s:
            out.append(
                f"{name}: {s['cost_vs_create_p50']}x the p50 of a plain create "
                f"({s['cost_vs_create_rps']}x by throughput, {s.get('cost_vs_create_cpu')}x by CPU)"
            )
        if "cost_vs_without_events_cpu" in s:
            out.append(
                f"{name}: {s['cost_vs_without_events_cpu']}x the CPU of the same write without "
                f"events ({s['cost_vs_without_events_p50']}x p50); baseline rps is that write's"
            )
        if "cpu_us_per_event" in s:
            out.append(
                f"{name}: {s['delivered']:,} of {s['events']:,} events in {s['seconds']} s, "
                f"{s['cpu_us_per_event']} us CPU each; the receiver verified "
                f"{s['receiver_verified']:,}, refused {s['receiver_refused']}; "
                f"{s['failed_attempts']} failed attempts"
            )
        if s.get("ratio_by_turn"):
            turns = s["ratio_by_turn"]
            out.append(
                f"{name}: ratio by turn {' '.join(f'{ratio:.2f}' for ratio in turns)} "
                f"(min {min(turns):.2f}, max {max(turns):.2f})"
            )
        if "added_p50_ms" in s:
            out.append(
                f"{name}: adds {s['added_p50_ms']} ms p50 / {s['added_p99_ms']} ms p99 over "
                f"/healthz ({s['healthz_p50_ms']} ms p50), {s['samples']} sequential requests"
            )
        if "added_cpu_us" in s:
            out.append(
                f"{name}: {s['cpu_us_per_request']} us CPU/request, {s['added_cpu_us']} us over "
                f"/healthz's {s['baseline_cpu_us_per_request']} (blocks of their own, in turns)"
            )
        if "body_cpu_us" in s:
            out.append(
                f"{name}: the body added {s['body_cpu_us']} us CPU to the empty refusal's; "
                f"receiving and dropping it unread cost the bare app {s['bare_body_cpu_us']} us "
                f"({s.get('body_vs_bare')}x)"
            )
        if s.get("instances"):
            out.append(
                f"{name}: {s['instances']} instances, the connections split between them: "
                f"{s['ratio']}x the throughput of one, CPU/request {s.get('cpu_ratio')}x as lean "
                "(one instance's CPU/request over the pair's)"
            )
        if "unit" in s:
            out.append(
                f"{name}: rps is {s['unit']} ({s['batches_per_s']} batches/s of {s['batch_size']})"
            )
        if s.get("failed_fraction") == 1.0 and not s.get("errors"):
            out.append(f"{name}: no response at all in the measured window: the figures are void")
        elif s.get("errors") or s.get("baseline_errors"):
            share = (
                f" ({100 * s['failed_fraction']:.1f} % of requests)"
                if "failed_fraction" in s
                else ""
            )
            out.append(
                f"{name}: {s.get('errors', 0)} failed responses (service){share}, "
                f"{s.get('baseline_errors', 0)} (baseline): the figures are suspect"
            )
        if (s.get("db_connections_opened") or 0) > CHURN_ABOVE:
            baseline = s.get("baseline_db_connections_opened")
            out.append(
                f"{name}: the service opened {s['db_connections_opened']} PostgreSQL connections "
                f"in the window (baseline: {'-' if baseline is None else baseline}): "
                "its pool was still growing (a service started for the scenario), or closes and "
                "reopens connections"
            )
        if s.get("slowest"):
            out.append(f"{name}: {s['pages']} pages x rounds; slowest: {', '.join(s['slowest'])}")
        if s.get("seed_seconds") is not None:
            out.append(
                f"{name}: {s['log_rows']:,} log rows over {s['log_days']} days, seeded in "
                f"{s['seed_seconds']} s"
            )
        if s.get("note"):
            out.append(f"{name}: {s['note']}")
    return out


def write(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
