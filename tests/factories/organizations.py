from uuid import uuid4

from fastapi import FastAPI

from worksible_api.db.session import commit
from worksible_api.domains.organizations import service
from worksible_api.models import Organization
from worksible_api.models.organization import Plan


async def create_organization(
    app: FastAPI, *, plan: Plan = Plan.PROFESSIONAL, **fields: str
) -> Organization:
    async with app.state.sessionmaker() as session:
        organization = await service.create_organization(
            session, name=fields.pop("name", f"Org {uuid4().hex[:6]}"), plan=plan, **fields
        )
        await commit(session)
        return organization


async def set_plan(app: FastAPI, organization: Organization, plan: Plan) -> None:
    async with app.state.sessionmaker() as session:
        await service.set_plan(session, organization.id, plan, app.state.key_verifier)
        await commit(session)
