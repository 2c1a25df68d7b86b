from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

FreelancersRead = Annotated[Principal, Depends(require(Scope.FREELANCERS_READ))]
FreelancersWrite = Annotated[Principal, Depends(require(Scope.FREELANCERS_WRITE))]
