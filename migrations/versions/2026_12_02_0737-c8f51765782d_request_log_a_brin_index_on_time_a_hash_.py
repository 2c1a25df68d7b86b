"""request log: a BRIN index on time, a hash index on request ids

- created_at: the B-tree, kept for the retention purge, was also where PostgreSQL's generic
  plans for the dashboard's log page went: believing a range of time selects 0.5 % of the
  rows, they read a month of every organization's log to find 50 rows of one (0.5 s at a
  million rows). Rows arrive in time order, so a BRIN index finds the oldest ones for the
  purge as well, costs nothing to keep up, and is never a way to read rows in order.
- request_id: a request's details page looked its id up with a scan of the whole log (0.1 s
  at a million rows, growing with every organization's traffic). Ids are random and only
  ever compared for equality: a hash index is smaller and cheaper to keep up than a B-tree.
Together they cost the log's writes about what the B-tree alone did (docs/benchmark.md).

Both are built while the log's writes wait (the lock_timeout of env.py bounds the wait for
the lock, not the build); the writer keeps rows in memory meanwhile.

Revision ID: c8f51765782d
Revises: 08f5c1b81ea4
Create Date: 2026-12-02 07:37:02.176050+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c8f51765782d"
down_revision: str | None = "08f5c1b81ea4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_request_logs_created_at", table_name="request_logs")
    op.create_index(
        "ix_request_logs_created_at",
        "request_logs",
        ["created_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_index(
        "ix_request_logs_request_id",
        "request_logs",
        ["request_id"],
        unique=False,
        postgresql_using="hash",
    )


def downgrade() -> None:
    op.drop_index("ix_request_logs_request_id", table_name="request_logs")
    op.drop_index("ix_request_logs_created_at", table_name="request_logs")
    op.create_index("ix_request_logs_created_at", "request_logs", ["created_at"], unique=False)
