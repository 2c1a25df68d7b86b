from sqlalchemy import Select, func
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

    async def add(self, instance: Freelancer) -> Freelancer:
        self.session.add(instance)
        await self.flush_email(instance.email)
        return instance

    async def flush_email(self, email: str) -> None:
        """Flushes a freelancer whose email is `email`; 409 if another one has it.

        The unique index decides, and it also sees a concurrent request's uncommitted row: the
        later of two requests waits for the first to commit, then fails here.
        """
        try:
            await self.session.flush()
        except IntegrityError as error:
            if _violates_email_index(error):
                raise email_conflict(email) from error
            raise
