"""test mode: test twins of organizations, test keys, the dashboard's mode (API.md §17)

An organization's test twin is a second organizations row naming its live organization
(`live_organization_id`, unique: one twin each) with `livemode` false. Every query is scoped
by organization, so test data is apart from live data by construction. A key's `livemode`
is its organization's, which the composite foreign key enforces. Existing rows are live.

Revision ID: b7e3f1a2c4d6
Revises: 9c4d2e71a0b3
Create Date: 2026-12-02 09:15:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e3f1a2c4d6"
down_revision: str | None = "9c4d2e71a0b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("organizations", sa.Column("live_organization_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_organizations_live_organization_id_organizations"),
        "organizations",
        "organizations",
        ["live_organization_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(
        op.f("uq_organizations_live_organization_id"), "organizations", ["live_organization_id"]
    )
    op.create_unique_constraint(
        op.f("uq_organizations_id_livemode"), "organizations", ["id", "livemode"]
    )
    op.create_check_constraint(
        op.f("ck_organizations_livemode"),
        "organizations",
        "livemode = (live_organization_id IS NULL)",
    )
    op.add_column(
        "api_keys",
        sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_foreign_key(
        "fk_api_keys_organization_id_livemode_organizations",
        "api_keys",
        "organizations",
        ["organization_id", "livemode"],
        ["id", "livemode"],
        ondelete="CASCADE",
    )
    op.add_column(
        "dashboard_sessions",
        sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    # Test twins and their data go with test mode; live data stays as it was.
    op.execute("DELETE FROM organizations WHERE live_organization_id IS NOT NULL")
    op.drop_column("dashboard_sessions", "livemode")
    op.drop_constraint(
        "fk_api_keys_organization_id_livemode_organizations", "api_keys", type_="foreignkey"
    )
    op.drop_column("api_keys", "livemode")
    op.drop_constraint(op.f("ck_organizations_livemode"), "organizations", type_="check")
    op.drop_constraint(op.f("uq_organizations_id_livemode"), "organizations", type_="unique")
    op.drop_constraint(
        op.f("uq_organizations_live_organization_id"), "organizations", type_="unique"
    )
    op.drop_constraint(
        op.f("fk_organizations_live_organization_id_organizations"),
        "organizations",
        type_="foreignkey",
    )
    op.drop_column("organizations", "live_organization_id")
    op.drop_column("organizations", "livemode")
