"""idempotency records per credential, their responses sealed

Records were keyed by organization and kept responses in the clear, API keys and kiosk
secrets included. Now they are keyed by the credential that sent them (`scope`, an HMAC of
its secret) and sealed under a key derived from that secret. The records already kept cannot
be attributed to a credential, and some hold secrets in the clear: they are deleted (retries
of requests made before the upgrade run as new requests).

Revision ID: 3c7d2a91e5b4
Revises: b16cd4580722
Create Date: 2026-12-02 06:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c7d2a91e5b4"
down_revision: str | None = "b16cd4580722"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
    op.drop_constraint(op.f("pk_idempotency_records"), "idempotency_records", type_="primary")
    op.add_column("idempotency_records", sa.Column("scope", sa.String(length=32), nullable=False))
    op.create_primary_key(op.f("pk_idempotency_records"), "idempotency_records", ["scope", "key"])
    op.create_index(
        op.f("ix_idempotency_records_organization_id"),
        "idempotency_records",
        ["organization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_records")
    op.drop_index(op.f("ix_idempotency_records_organization_id"), table_name="idempotency_records")
    op.drop_constraint(op.f("pk_idempotency_records"), "idempotency_records", type_="primary")
    op.drop_column("idempotency_records", "scope")
    op.create_primary_key(
        op.f("pk_idempotency_records"), "idempotency_records", ["organization_id", "key"]
    )
