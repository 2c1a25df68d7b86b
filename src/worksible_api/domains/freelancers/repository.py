from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError

from worksible_api.db.filters import Filters, equals, same_email
from worksible_api.db.repository import Repository, violated_constraint
from worksible_api.errors import Conflict
from worksible_api.models import Freelancer

# The unique index on (organization_id, lower(email)) in models/freelancer.py.
EMAIL_INDEX = "uq_freelancers_organization_id_email"


def email_conflict(email: str) -> Conflict:
    return Conflict(f"A freelancer with the email {email} already exists in your organization.")


class FreelancerRepository(Repository[Freelancer]):
    model = Freelancer
    object_name = "freelancer"
    filters = Filters(
        status=equals(Freelancer.status),
        email=same_email(Freelancer.email),
        country=equals(Freelancer.country),
        external_id=equals(Freelancer.external_id),
    )

    async def insert(self, **values: Any) -> dict[str, Any]:
        """A new freelancer in one statement; 409 if another one has the email."""
        with _unique_email(values["email"]):
            return await super().insert(**values)

    async def flush_email(self, email: str) -> None:
        """Flushes a freelancer whose email is `email`; 409 if another one has it."""
        with _unique_email(email):
            await self.session.flush()


@contextmanager
def _unique_email(email: str) -> Iterator[None]:
    """The unique index decides whether `email` is taken, and it also sees a concurrent
    request's uncommitted row: the later of two requests waits for the first to commit, then
    fails here with 409."""
    try:
        yield
    except IntegrityError as error:
        if violated_constraint(error) == EMAIL_INDEX:
            raise email_conflict(email) from error
        raise
