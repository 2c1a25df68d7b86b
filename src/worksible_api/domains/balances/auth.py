from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

# A balance is part of the freelancer: reading it takes the freelancers scope.
FreelancersRead = Annotated[Principal, Depends(require(Scope.FREELANCERS_READ))]
