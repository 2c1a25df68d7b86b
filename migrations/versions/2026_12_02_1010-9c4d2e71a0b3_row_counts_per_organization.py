"""row counts per organization, kept by triggers (issue 20: cheap `count` at 1M rows)

A list without filters answers its `count` from `row_counts`, the sum of a few counters per
organization and table, instead of counting every row. Statement-level triggers with
transition tables keep them in the transaction that inserts or deletes the rows (COPY and
cascades included): one upsert per statement and organization, not per row. TRUNCATE forgets
a table's counters. The counters start from the rows that exist.

Revision ID: 9c4d2e71a0b3
Revises: 5b1e7c0d9a24
Create Date: 2026-12-02 10:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4d2e71a0b3"
down_revision: str | None = "5b1e7c0d9a24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models/row_count.py, frozen here: a migration describes the schema of its day.
COUNTED_TABLES = (
    "api_keys",
    "clock_events",
    "contracts",
    "cost_codes",
    "events",
    "freelancers",
    "invoices",
    "kiosks",
    "payments",
    "payouts",
    "projects",
    "request_logs",
    "timesheet_clashes",
    "timesheets",
    "users",
    "webhook_endpoints",
)
SLOTS = 16

COUNT_ROWS = f"""
CREATE FUNCTION count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO row_counts AS counted (organization_id, table_name, slot, count)
        SELECT organization_id, TG_TABLE_NAME, pg_backend_pid() % {SLOTS}, count(*)
        FROM new_rows GROUP BY organization_id
        ON CONFLICT (organization_id, table_name, slot)
        DO UPDATE SET count = counted.count + excluded.count;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO row_counts AS counted (organization_id, table_name, slot, count)
        SELECT organization_id, TG_TABLE_NAME, pg_backend_pid() % {SLOTS}, -count(*)
        FROM old_rows GROUP BY organization_id
        ON CONFLICT (organization_id, table_name, slot)
        DO UPDATE SET count = counted.count + excluded.count;
    ELSE
        DELETE FROM row_counts WHERE table_name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "row_counts",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "table_name", "slot", name="pk_row_counts"),
    )
    op.execute(COUNT_ROWS)
    for table in COUNTED_TABLES:
        op.execute(
            f"CREATE TRIGGER count_inserted_rows AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows()"
        )
        op.execute(
            f"CREATE TRIGGER count_deleted_rows AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows()"
        )
        op.execute(
            f"CREATE TRIGGER forget_counted_rows AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION count_rows()"
        )
        op.execute(
            f"INSERT INTO row_counts (organization_id, table_name, slot, count) "
            f"SELECT organization_id, '{table}', 0, count(*) FROM {table} "
            "GROUP BY organization_id"
        )


def downgrade() -> None:
    for table in COUNTED_TABLES:
        for trigger in ("count_inserted_rows", "count_deleted_rows", "forget_counted_rows"):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION count_rows()")
    op.drop_table("row_counts")
