"""external ids and updated_at indexes for incremental sync (API.md §17)

Freelancers, projects, contracts, cost codes and WBS elements take a client's own
`external_id`, unique per organization (NULLs do not collide). Every business table gets an
index on (organization_id, updated_at, id): `updated_gte` and `order=updated_at` read it.

Revision ID: 83e0126164d1
Revises: c8f51765782d
Create Date: 2026-12-02 08:01:58.337884+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "83e0126164d1"
down_revision: str | None = "c8f51765782d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_clock_events_organization_id_updated_at_id"),
        "clock_events",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.add_column("contracts", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        op.f("ix_contracts_organization_id_updated_at_id"),
        "contracts",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(
        op.f("uq_contracts_organization_id_external_id"),
        "contracts",
        ["organization_id", "external_id"],
    )
    op.add_column("cost_codes", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        op.f("ix_cost_codes_organization_id_updated_at_id"),
        "cost_codes",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(
        op.f("uq_cost_codes_organization_id_external_id"),
        "cost_codes",
        ["organization_id", "external_id"],
    )
    op.add_column("freelancers", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        op.f("ix_freelancers_organization_id_updated_at_id"),
        "freelancers",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(
        op.f("uq_freelancers_organization_id_external_id"),
        "freelancers",
        ["organization_id", "external_id"],
    )
    op.create_index(
        op.f("ix_invoices_organization_id_updated_at_id"),
        "invoices",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payments_organization_id_updated_at_id"),
        "payments",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_payouts_organization_id_updated_at_id"),
        "payouts",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.add_column("projects", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        op.f("ix_projects_organization_id_updated_at_id"),
        "projects",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(
        op.f("uq_projects_organization_id_external_id"),
        "projects",
        ["organization_id", "external_id"],
    )
    op.create_index(
        op.f("ix_timesheet_clashes_organization_id_updated_at_id"),
        "timesheet_clashes",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_timesheets_organization_id_updated_at_id"),
        "timesheets",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.add_column("wbs_elements", sa.Column("external_id", sa.String(length=255), nullable=True))
    op.create_index(
        op.f("ix_wbs_elements_organization_id_updated_at_id"),
        "wbs_elements",
        ["organization_id", "updated_at", "id"],
        unique=False,
    )
    op.create_unique_constraint(
        op.f("uq_wbs_elements_organization_id_external_id"),
        "wbs_elements",
        ["organization_id", "external_id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("uq_wbs_elements_organization_id_external_id"), "wbs_elements", type_="unique"
    )
    op.drop_index(op.f("ix_wbs_elements_organization_id_updated_at_id"), table_name="wbs_elements")
    op.drop_column("wbs_elements", "external_id")
    op.drop_index(op.f("ix_timesheets_organization_id_updated_at_id"), table_name="timesheets")
    op.drop_index(
        op.f("ix_timesheet_clashes_organization_id_updated_at_id"), table_name="timesheet_clashes"
    )
    op.drop_constraint(op.f("uq_projects_organization_id_external_id"), "projects", type_="unique")
    op.drop_index(op.f("ix_projects_organization_id_updated_at_id"), table_name="projects")
    op.drop_column("projects", "external_id")
    op.drop_index(op.f("ix_payouts_organization_id_updated_at_id"), table_name="payouts")
    op.drop_index(op.f("ix_payments_organization_id_updated_at_id"), table_name="payments")
    op.drop_index(op.f("ix_invoices_organization_id_updated_at_id"), table_name="invoices")
    op.drop_constraint(
        op.f("uq_freelancers_organization_id_external_id"), "freelancers", type_="unique"
    )
    op.drop_index(op.f("ix_freelancers_organization_id_updated_at_id"), table_name="freelancers")
    op.drop_column("freelancers", "external_id")
    op.drop_constraint(
        op.f("uq_cost_codes_organization_id_external_id"), "cost_codes", type_="unique"
    )
    op.drop_index(op.f("ix_cost_codes_organization_id_updated_at_id"), table_name="cost_codes")
    op.drop_column("cost_codes", "external_id")
    op.drop_constraint(
        op.f("uq_contracts_organization_id_external_id"), "contracts", type_="unique"
    )
    op.drop_index(op.f("ix_contracts_organization_id_updated_at_id"), table_name="contracts")
    op.drop_column("contracts", "external_id")
    op.drop_index(op.f("ix_clock_events_organization_id_updated_at_id"), table_name="clock_events")
