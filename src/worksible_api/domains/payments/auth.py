from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

PaymentsRead = Annotated[Principal, Depends(require(Scope.PAYMENTS_READ))]
PaymentsWrite = Annotated[Principal, Depends(require(Scope.PAYMENTS_WRITE))]
