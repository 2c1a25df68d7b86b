from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

InvoicesRead = Annotated[Principal, Depends(require(Scope.INVOICES_READ))]
InvoicesWrite = Annotated[Principal, Depends(require(Scope.INVOICES_WRITE))]
