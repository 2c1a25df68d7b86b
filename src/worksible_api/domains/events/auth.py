from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

EventsRead = Annotated[Principal, Depends(require(Scope.EVENTS_READ))]
EventsWrite = Annotated[Principal, Depends(require(Scope.EVENTS_WRITE))]
