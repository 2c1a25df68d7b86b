from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

CostCodesRead = Annotated[Principal, Depends(require(Scope.COST_CODES_READ))]
CostCodesWrite = Annotated[Principal, Depends(require(Scope.COST_CODES_WRITE))]
