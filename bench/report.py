"""The table on stdout, the targets (PASS/FAIL, never an exit code) and bench/results.json."""

import json
from pathlib import Path
from typing import Any

# (scenario, field, comparison, bound, meaning) from the issue "Benchmark harness and a fast
# hot path".
TARGETS = (
    ("get_freelancer", "ratio", ">=", 0.5, "GET by id >= 0.5x baseline rps"),
    ("list_freelancers", "ratio", ">=", 0.35, "list page >= 0.35x baseline rps"),
    (
        "create_freelancer_idempotent",
        "cost_vs_create_p50",
        "<=",
        1.3,
        "idempotent write <= 1.3x a plain write (p50)",
    ),
    ("auth_warm", "added_p50_ms", "<", 1.0, "warm auth adds < 1 ms (p50 vs /healthz)"),
    # From bench/evm_bench.py's own targets (API.md section 13).
    ("evm", "p50_ms", "<", 200.0, "earned value of a 2,000-element project < 200 ms"),
    ("s_curve", "p50_ms", "<", 1000.0, "52-week S-curve < 1 s"),
)


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
            ok = {">=": value >= bound, "<=": value <= bound, "<": value < bound}[op]
            verdict = "PASS" if ok else "FAIL"
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
    verdicts = {t["scenario"]: f"{t['result']} ({t['field']} {t['target']})" for t in targets}
    header = (
        "scenario",
        "rps",
        "p50 ms",
        "p99 ms",
        "baseline rps",
        "ratio",
        "cpu us/req",
        "cpu ratio",
        "target",
    )
    rows = [header]
    for s in scenarios:
        if s.get("skipped"):
            rows.append((s["name"], "skipped", "", "", "", "", "", "", s["skipped"]))
            continue
        rows.append(
            (
                s["name"],
                _cell(s["rps"]),
                _cell(s["p50_ms"], 2),
                _cell(s["p99_ms"], 2),
                _cell(s["baseline_rps"]),
                _cell(s["ratio"], 2),
                _cell(s.get("cpu_us_per_request"), 0),
                _cell(s.get("cpu_ratio"), 2),
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
                "its pool keeps closing and reopening connections"
            )
        if s.get("note"):
            out.append(f"{name}: {s['note']}")
    return out


def write(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
