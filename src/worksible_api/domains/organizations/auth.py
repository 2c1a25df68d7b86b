from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

CompanyRead = Annotated[Principal, Depends(require(Scope.COMPANY_READ))]
CompanyWrite = Annotated[Principal, Depends(require(Scope.COMPANY_WRITE))]
