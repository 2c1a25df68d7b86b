"""Kiosk rules (API.md §9, §10): the secret is shown once; revoke and rotate bind at once.

Ingest reads the kiosk row on every batch (no cache), so the answer to a revoke or rotate is
the last one the old secret gets, on every worker.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from worksible_api.domains.kiosks.repository import KioskRepository
from worksible_api.domains.kiosks.schemas import KioskCreate, KioskStatus, KioskUpdate
from worksible_api.domains.kiosks.secrets import new_kiosk_secret
from worksible_api.errors import ValidationFailed
from worksible_api.kit.states import StateMachine, transition
from worksible_api.kit.time import utc_now
from worksible_api.models import Kiosk

kiosk_machine = StateMachine(
    "kiosk",
    {
        "revoke": transition(KioskStatus.ACTIVE, to=KioskStatus.REVOKED),
        "rotate": transition(KioskStatus.ACTIVE, to=KioskStatus.ACTIVE),
    },
)
NOT_NULLABLE = ("name", "metadata")


class KioskService:
    def __init__(self, session: AsyncSession, organization_id: UUID) -> None:
        self.session = session
        self.organization_id = organization_id
        self.kiosks = KioskRepository(session, organization_id)

    async def create(self, data: KioskCreate) -> tuple[Kiosk, str]:
        secret = new_kiosk_secret()
        kiosk = Kiosk(
            organization_id=self.organization_id,
            name=data.name,
            secret_id=secret.secret_id,
            secret_digest=secret.digest,
            status=KioskStatus.ACTIVE,
            metadata_=data.metadata,
        )
        await self.kiosks.add(kiosk)
        return kiosk, secret.full

    async def update(self, kiosk: Kiosk, data: KioskUpdate) -> Kiosk:
        changes = data.model_dump(exclude_unset=True)
        for field in NOT_NULLABLE:
            if field in changes and changes[field] is None:
                raise ValidationFailed.for_field(["body", field], f"{field} cannot be null.")
        for field, value in changes.items():
            setattr(kiosk, "metadata_" if field == "metadata" else field, value)
        await self.session.flush()
        return kiosk

    async def revoke(self, kiosk: Kiosk) -> Kiosk:
        """`kiosk` is locked by the caller. Revoking twice answers it unchanged (DELETE is
        idempotent; the first `revoked_at` stays)."""
        if kiosk.status == KioskStatus.REVOKED:
            return kiosk
        kiosk_machine.apply(kiosk, "revoke")
        kiosk.revoked_at = utc_now()
        await self.session.flush()
        return kiosk

    async def rotate(self, kiosk: Kiosk) -> tuple[Kiosk, str]:
        """`kiosk` is locked by the caller, so racing rotations each replace the last one."""
        kiosk_machine.check(kiosk, "rotate")
        secret = new_kiosk_secret(kiosk.secret_id)
        kiosk.secret_digest = secret.digest
        await self.session.flush()
        return kiosk, secret.full
