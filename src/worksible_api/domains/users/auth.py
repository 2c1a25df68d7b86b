from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

UsersRead = Annotated[Principal, Depends(require(Scope.USERS_READ))]
UsersWrite = Annotated[Principal, Depends(require(Scope.USERS_WRITE))]
