"""the request log rolled up per minute, and the dashboard's indexes (API.md §14)

The rollup starts with what the log already holds, so the dashboard's charts cover it too.

Revision ID: fff259aa887e
Revises: e1e681825f3d
Create Date: 2026-12-02 06:14:05.511150+00:00
"""

import itertools
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fff259aa887e"
down_revision: str | None = "e1e681825f3d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_log_minutes",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("latency_ms_total", sa.BigInteger(), nullable=False),
        sa.Column("latency_buckets", sa.ARRAY(sa.Integer()), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_request_log_minutes_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_request_log_minutes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "minute",
            "api_key_id",
            "method",
            "status",
            name=op.f("pk_request_log_minutes"),
        ),
    )
    op.create_index(
        op.f("ix_request_log_minutes_minute"), "request_log_minutes", ["minute"], unique=False
    )
    op.create_index(
        op.f("ix_request_logs_organization_id_method_created_at_id"),
        "request_logs",
        ["organization_id", "method", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_request_logs_organization_id_status_class",
        "request_logs",
        ["organization_id", sa.literal_column("(status / 100)"), "created_at", "id"],
        unique=False,
    )
    op.execute(_BACKFILL)


# The latency buckets' upper bounds (ms) as models/request_log_minute.py had them here.
_EDGES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_BUCKETS = ", ".join(
    [f"count(*) FILTER (WHERE latency_ms <= {_EDGES[0]})"]
    + [
        f"count(*) FILTER (WHERE latency_ms > {low} AND latency_ms <= {high})"
        for low, high in itertools.pairwise(_EDGES)
    ]
    + [f"count(*) FILTER (WHERE latency_ms > {_EDGES[-1]})"]
)
_BACKFILL = f"""
INSERT INTO request_log_minutes
    (organization_id, minute, api_key_id, method, status, requests, latency_ms_total,
     latency_buckets)
SELECT organization_id,
       date_trunc('minute', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       api_key_id, method, status, count(*), sum(latency_ms), ARRAY[{_BUCKETS}]::int[]
FROM request_logs
GROUP BY 1, 2, 3, 4, 5
"""


def downgrade() -> None:
    op.drop_index("ix_request_logs_organization_id_status_class", table_name="request_logs")
    op.drop_index(
        op.f("ix_request_logs_organization_id_method_created_at_id"), table_name="request_logs"
    )
    op.drop_index(op.f("ix_request_log_minutes_minute"), table_name="request_log_minutes")
    op.drop_table("request_log_minutes")
