from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

TimesheetsRead = Annotated[Principal, Depends(require(Scope.TIMESHEETS_READ))]
TimesheetsWrite = Annotated[Principal, Depends(require(Scope.TIMESHEETS_WRITE))]
