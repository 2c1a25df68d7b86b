"""time zones of organizations and projects (API.md §17)

Organizations get `time_zone`, an IANA name, `UTC` for every existing one: the day their
entries were dated by until now, so nothing already booked changes meaning. Projects get an
optional `time_zone`; null follows the organization's.

Adding a column with a constant default rewrites no rows (PostgreSQL ≥ 11).

Revision ID: 5b1e7c0d9a24
Revises: 83e0126164d1
Create Date: 2026-12-02 09:15:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e7c0d9a24"
down_revision: str | None = "83e0126164d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
    )
    op.add_column("projects", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "time_zone")
    op.drop_column("organizations", "time_zone")
