from typing import Annotated

from fastapi import Depends

from worksible_api.auth.dependencies import require
from worksible_api.auth.principal import Principal
from worksible_api.auth.scopes import Scope

WebhooksRead = Annotated[Principal, Depends(require(Scope.WEBHOOKS_READ))]
WebhooksWrite = Annotated[Principal, Depends(require(Scope.WEBHOOKS_WRITE))]
