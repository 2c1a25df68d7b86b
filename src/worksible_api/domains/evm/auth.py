from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

# Earned value falls under the projects scopes (API.md §2).
EvmRead = Annotated[Principal, Depends(require(Scope.PROJECTS_READ))]
