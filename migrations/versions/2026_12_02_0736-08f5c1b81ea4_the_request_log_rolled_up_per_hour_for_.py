"""the request log rolled up per hour, for charts over days (API.md §14)

A chart of a month summed the per-minute rollup: for a busy organization hundreds of
thousands of rows, over a second for every page. Per hour it is a few dozen rows an hour.
The hours start with what the minutes already count, so the charts cover the whole log.

Revision ID: 08f5c1b81ea4
Revises: 37c6e09e99ba
Create Date: 2026-12-02 07:36:50.118617+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "08f5c1b81ea4"
down_revision: str | None = "37c6e09e99ba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_log_hours",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("latency_ms_total", sa.BigInteger(), nullable=False),
        sa.Column("latency_buckets", sa.ARRAY(sa.Integer()), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_request_log_hours_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_request_log_hours_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id",
            "hour",
            "api_key_id",
            "method",
            "status",
            name=op.f("pk_request_log_hours"),
        ),
    )
    op.create_index(op.f("ix_request_log_hours_hour"), "request_log_hours", ["hour"], unique=False)
    op.execute(_BACKFILL)


# The minutes summed per hour of UTC; the latency buckets element by element (13 of them, as
# models/request_log_minute.py had them here).
_BUCKETS = ", ".join(f"sum(latency_buckets[{i}])" for i in range(1, 14))
_BACKFILL = f"""
INSERT INTO request_log_hours
    (organization_id, hour, api_key_id, method, status, requests, latency_ms_total,
     latency_buckets)
SELECT organization_id,
       date_trunc('hour', minute AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       api_key_id, method, status, sum(requests), sum(latency_ms_total),
       ARRAY[{_BUCKETS}]::int[]
FROM request_log_minutes
GROUP BY 1, 2, 3, 4, 5
"""


def downgrade() -> None:
    op.drop_index(op.f("ix_request_log_hours_hour"), table_name="request_log_hours")
    op.drop_table("request_log_hours")
