"""durable jobs, notices and the billing contacts of keys (API.md §15)

Existing keys get their organization's billing email as their billing contact, as a key
created now does.

Revision ID: 32e86b8072b3
Revises: fff259aa887e
Create Date: 2026-12-02 06:34:24.327527+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "32e86b8072b3"
down_revision: str | None = "fff259aa887e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column(
            "run_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'done', 'dead')", name=op.f("ck_jobs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["queue", "run_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(op.f("ix_jobs_finished_at"), "jobs", ["finished_at"], unique=False)
    op.create_table(
        "notices",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("mail_subject", sa.String(length=300), nullable=False),
        sa.Column("mail_text", sa.Text(), nullable=False),
        sa.Column("mail_html", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('deprecation_announcement', 'deprecation_reminder', 'key_expiry')",
            name=op.f("ck_notices_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'superseded', 'failed')", name=op.f("ck_notices_status")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_notices_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "organization_id",
            "kind",
            "subject",
            "stage",
            "address",
            name=op.f("uq_notices_organization_id_kind_subject_stage_address"),
        ),
    )
    op.create_index(
        op.f("ix_notices_organization_id_created_at"),
        "notices",
        ["organization_id", "created_at"],
        unique=False,
    )
    op.add_column("api_keys", sa.Column("billing_contact", sa.String(length=320), nullable=True))
    op.execute(
        "UPDATE api_keys SET billing_contact = organizations.billing_email "
        "FROM organizations WHERE organizations.id = api_keys.organization_id"
    )


def downgrade() -> None:
    op.drop_column("api_keys", "billing_contact")
    op.drop_index(op.f("ix_notices_organization_id_created_at"), table_name="notices")
    op.drop_table("notices")
    op.drop_index(op.f("ix_jobs_finished_at"), table_name="jobs")
    op.drop_index("ix_jobs_due", table_name="jobs", postgresql_where=sa.text("status = 'pending'"))
    op.drop_table("jobs")
