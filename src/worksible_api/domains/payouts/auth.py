from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

PayoutsRead = Annotated[Principal, Depends(require(Scope.PAYOUTS_READ))]
PayoutsWrite = Annotated[Principal, Depends(require(Scope.PAYOUTS_WRITE))]
