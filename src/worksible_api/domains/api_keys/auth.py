from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

ApiKeysRead = Annotated[Principal, Depends(require(Scope.API_KEYS_READ))]
ApiKeysWrite = Annotated[Principal, Depends(require(Scope.API_KEYS_WRITE))]
