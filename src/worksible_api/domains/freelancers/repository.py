from uuid import UUID

from sqlalchemy import Select, exists, func, select
from sqlalchemy.exc import IntegrityError

from worksible_api.db.repository import Repository
from worksible_api.domains.freelancers.schemas import FreelancerFilters
from worksible_api.errors import Conflict
from worksible_api.models import Freelancer

# The unique index on (organization_id, lower(email)) in models/freelancer.py.
EMAIL_INDEX = "uq_freelancers_organization_id_email"


def email_conflict(email: str) -> Conflict:
    return Conflict(f"A freelancer with the email {email} already exists in your organization.")


def _violates_email_index(error: IntegrityError) -> bool:
    # asyncpg's UniqueViolationError, wrapped by SQLAlchemy's DBAPI adapter, names the index.
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) == EMAIL_INDEX


class FreelancerRepository(Repository[Freelancer]):
    model = Freelancer
    object_name = "freelancer"

    def filtered(self, filters: FreelancerFilters) -> Select[Freelancer]:
        statement = self.scoped()
        if filters.status is not None:
            statement = statement.where(Freelancer.status == filters.status)
        if filters.email is not None:
            # lower(email) is the unique index's expression, so this is an index lookup.
            statement = statement.where(func.lower(Freelancer.email) == filters.email.lower())
        if filters.country is not None:
            statement = statement.where(Freelancer.country == filters.country)
        return statement

    async def email_taken(self, email: str, *, other_than: UUID | None = None) -> bool:
        matches = self.scoped().where(func.lower(Freelancer.email) == email.lower())
        if other_than is not None:
            matches = matches.where(Freelancer.id != other_than)
        return bool((await self.session.execute(select(exists(matches)))).scalar_one())

    async def add(self, instance: Freelancer) -> Freelancer:
        self.session.add(instance)
        await self.flush_email(instance.email)
        return instance

    async def flush_email(self, email: str) -> None:
        """Flushes a freelancer whose email is `email`.

        The check before it cannot see a concurrent request's uncommitted row; the unique
        index can: the later of two requests waits for the first to commit, then fails here.
        """
        try:
            await self.session.flush()
        except IntegrityError as error:
            if _violates_email_index(error):
                raise email_conflict(email) from error
            raise
