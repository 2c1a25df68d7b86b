from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

RequestLogsRead = Annotated[Principal, Depends(require(Scope.REQUEST_LOGS_READ))]
