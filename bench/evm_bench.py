"""How long earned value takes on a big project: 2,000 WBS elements, 100,000 approved entries.

Builds the project in the configured database (DATABASE_URL / REDIS_URL, or the embedded
servers) with bulk INSERT ... SELECT generate_series, then times, through the whole app in
process (authentication, middleware, routing, JSON):
  - GET /v1/projects/{id}/evm for the project and for one top element's subtree,
  - GET /v1/projects/{id}/evm/s-curve over 52 weeks (and 365 days),
and prints JSON (milliseconds). The organization and everything in it is deleted afterwards
unless --keep is given.

Usage: .venv/bin/python bench/evm_bench.py [--rounds N] [--keep]
Targets (API.md §13 work): evm under 200 ms, the 52-week s-curve under 1 s.
"""

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any
from uuid import UUID, uuid4

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from worksible_api.app import create_app
from worksible_api.config import Settings
from worksible_api.db.session import commit
from worksible_api.domains.api_keys.schemas import ApiKeyCreate
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.organizations.service import create_organization
from worksible_api.models import Organization, Project
from worksible_api.models.organization import Plan

TOP, MIDDLE, LEAVES = 20, 9, 10  # 20 + 180 + 1,800 = 2,000 elements
APPROVED_ENTRIES = 100_000
NOISE_ENTRIES = 10_000  # drafts, and approved time booked to no element: neither counts
FREELANCERS = 50
WEEKS_OF_PROGRESS = 52

BUILD = [
    # Level 1: twenty top elements without budget.
    """INSERT INTO wbs_elements (id, organization_id, project_id, code, name, depth)
       SELECT gen_random_uuid(), :org, :project, g::text, 'Area ' || g, 1
       FROM generate_series(1, CAST(:top AS int)) AS g""",
    # Level 2: nine work packages under each.
    """INSERT INTO wbs_elements (id, organization_id, project_id, parent_id, code, name, depth)
       SELECT gen_random_uuid(), :org, :project, p.id, p.code || '.' || g, 'Package', 2
       FROM wbs_elements AS p CROSS JOIN generate_series(1, CAST(:middle AS int)) AS g
       WHERE p.project_id = :project AND p.depth = 1""",
    # Level 3: ten budgeted activities under each package, plans spread over 2026.
    """INSERT INTO wbs_elements (id, organization_id, project_id, parent_id, code, name,
                                 budget, planned_start, planned_end, depth)
       SELECT gen_random_uuid(), :org, :project, p.id, p.code || '.' || g, 'Activity',
              100000 + (hashtext(p.code || g) & 1048575),
              DATE '2026-01-01' + s.offset_days,
              DATE '2026-01-01' + s.offset_days + 14 + (hashtext(g || p.code) & 127),
              3
       FROM wbs_elements AS p CROSS JOIN generate_series(1, CAST(:leaves AS int)) AS g
       CROSS JOIN LATERAL (SELECT (hashtext(p.code || '/' || g) & 255) AS offset_days) AS s
       WHERE p.project_id = :project AND p.depth = 2""",
    # Weekly progress reports on every activity.
    """INSERT INTO wbs_progress (id, organization_id, wbs_element_id, as_of, percent_complete)
       SELECT gen_random_uuid(), :org, e.id, DATE '2026-01-04' + 7 * w,
              LEAST(100, w * 1.97 + (hashtext(e.code) & 7) * 0.13)::numeric(5, 2)
       FROM wbs_elements AS e CROSS JOIN generate_series(0, CAST(:weeks AS int) - 1) AS w
       WHERE e.project_id = :project AND e.depth = 3""",
    """INSERT INTO freelancers (id, organization_id, email, first_name, last_name, country,
                                default_currency, status)
       SELECT gen_random_uuid(), :org, 'evm-bench-' || g || '-' || CAST(:tag AS text) || '@example.com',
              'Bench', 'Worker ' || g, 'DE', 'EUR', 'active'
       FROM generate_series(1, CAST(:freelancers AS int)) AS g""",
    """INSERT INTO contracts (id, organization_id, freelancer_id, project_id, type, rate,
                              currency, start_date, status)
       SELECT gen_random_uuid(), :org, f.id, :project, 'hourly', 4000 + (hashtext(f.email) & 4095),
              'EUR', DATE '2025-01-01', 'active'
       FROM freelancers AS f WHERE f.organization_id = :org""",
    # Approved entries booked to activities across the year, then the noise.
    """INSERT INTO timesheets (id, organization_id, contract_id, freelancer_id, work_date,
                               minutes, status, source, wbs_element_id)
       SELECT gen_random_uuid(), :org, c.ids[1 + g % c.n], c.fids[1 + g % c.n],
              DATE '2026-01-01' + g % 365, 15 + (g * 7) % 466,
              CASE WHEN g <= CAST(:approved AS int)
                     OR g > CAST(:approved AS int) + CAST(:noise AS int) / 2
                   THEN 'approved' ELSE 'draft' END, 'api',
              CASE WHEN g > CAST(:approved AS int) + CAST(:noise AS int) / 2 THEN NULL ELSE l.ids[1 + (g * 13) % l.n] END
       FROM generate_series(1, CAST(:approved AS int) + CAST(:noise AS int)) AS g,
            (SELECT array_agg(id ORDER BY id) AS ids, count(*)::int AS n FROM wbs_elements
             WHERE project_id = :project AND depth = 3) AS l,
            (SELECT array_agg(id ORDER BY id) AS ids, array_agg(freelancer_id ORDER BY id) AS fids,
                    count(*)::int AS n
             FROM contracts WHERE project_id = :project) AS c""",
    "ANALYZE wbs_elements",
    "ANALYZE wbs_progress",
    "ANALYZE contracts",
    "ANALYZE timesheets",
]


def _summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


async def _build(session: AsyncSession, organization: Organization) -> tuple[Project, UUID]:
    project = Project(organization_id=organization.id, name="EVM bench", currency="EUR")
    session.add(project)
    await session.flush()
    params = {
        "org": organization.id,
        "project": project.id,
        "top": TOP,
        "middle": MIDDLE,
        "leaves": LEAVES,
        "weeks": WEEKS_OF_PROGRESS,
        "freelancers": FREELANCERS,
        "approved": APPROVED_ENTRIES,
        "noise": NOISE_ENTRIES,
        "tag": uuid4().hex[:8],
    }
    for statement in BUILD:
        await session.execute(text(statement), {} if statement.startswith("ANALYZE") else params)
    await commit(session)
    top = await session.execute(
        text("SELECT id FROM wbs_elements WHERE project_id = :p AND code = '1'"), {"p": project.id}
    )
    return project, top.scalar_one()


async def _counts(session: AsyncSession, project: Project) -> dict[str, int]:
    row = (
        await session.execute(
            text(
                """SELECT (SELECT count(*) FROM wbs_elements WHERE project_id = :p),
                          (SELECT count(*) FROM wbs_progress pr JOIN wbs_elements e
                             ON e.id = pr.wbs_element_id WHERE e.project_id = :p),
                          (SELECT count(*) FROM timesheets t JOIN wbs_elements e
                             ON e.id = t.wbs_element_id
                           WHERE e.project_id = :p AND t.status = 'approved'),
                          (SELECT count(*) FROM timesheets t JOIN contracts c
                             ON c.id = t.contract_id WHERE c.project_id = :p)"""
            ),
            {"p": project.id},
        )
    ).one()
    return {
        "elements": row[0],
        "progress_rows": row[1],
        "approved_entries_on_elements": row[2],
        "entries_in_total": row[3],
    }


async def _time(
    http: httpx.AsyncClient, path: str, params: dict[str, Any], headers: dict[str, str], rounds: int
) -> tuple[dict[str, float], Any]:
    body: Any = None
    samples: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await http.get(path, params=params, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        body = response.json()
    return _summary(samples), body


async def main(rounds: int, keep: bool) -> None:
    settings = Settings(
        redis_key_prefix=f"wsk:bench:{uuid4().hex[:6]}:",
        rate_limit_key_per_second=10_000,
        rate_limit_key_burst=100_000,
        rate_limit_ip_per_second=10_000,
        rate_limit_ip_burst=100_000,
    )
    app = create_app(settings)
    async with LifespanManager(app):
        async with app.state.sessionmaker() as session:
            organization = await create_organization(
                session, name="EVM bench", plan=Plan.PROFESSIONAL
            )
            service = ApiKeyService(
                session, organization.id, app.state.key_verifier, actor=OPERATOR
            )
            _, key = await service.create(ApiKeyCreate(scopes=["projects:read"]))
            await commit(session)
        # Building takes longer than the service's statement timeouts allow: its own engine.
        build_engine = create_async_engine(app.state.engine.url)
        try:
            async with AsyncSession(build_engine, expire_on_commit=False) as session:
                built = time.perf_counter()
                project, top_id = await _build(session, organization)
                build_seconds = time.perf_counter() - built
                counts = await _counts(session, project)
        finally:
            await build_engine.dispose()
        headers = {"Authorization": f"Bearer {key}"}
        base = f"/v1/projects/{project.id}/evm"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            # The first request of a key runs argon2: keep it out of the figures.
            await http.get(base, params={"as_of": "2026-01-01"}, headers=headers)
            cases = {
                "evm_project": (base, {"as_of": "2026-07-01"}),
                "evm_top_element": (base, {"as_of": "2026-07-01", "wbs_element_id": str(top_id)}),
                "s_curve_52_weeks": (
                    f"{base}/s-curve",
                    {"from": "2026-01-01", "to": "2026-12-27", "interval": "week"},
                ),
                "s_curve_365_days": (
                    f"{base}/s-curve",
                    {"from": "2026-01-01", "to": "2026-12-31", "interval": "day"},
                ),
            }
            timings: dict[str, Any] = {}
            for name, (path, params) in cases.items():
                summary, body = await _time(http, path, params, headers, rounds)
                timings[name] = summary
                if name == "evm_project":
                    timings[name]["figures"] = {
                        k: body[k] for k in ("bac", "pv", "ev", "ac", "spi", "cpi")
                    }
                elif name == "s_curve_52_weeks":
                    timings[name]["points"] = len(body["points"])
    # After shutdown, which writes the request log it holds: its rows reference the key.
    if not keep:
        cleanup_engine = create_async_engine(app.state.engine.url)
        async with AsyncSession(cleanup_engine) as session:
            await session.execute(
                text("DELETE FROM organizations WHERE id = :id"), {"id": organization.id}
            )
            await session.commit()
        await cleanup_engine.dispose()
    print(
        json.dumps(
            {
                "data": counts,
                "build_seconds": round(build_seconds, 1),
                "rounds": rounds,
                # Other work on the machine inflates the figures: read them beside this.
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "timings": timings,
                "project_id": str(project.id) if keep else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the data (prints the project id)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.keep))
