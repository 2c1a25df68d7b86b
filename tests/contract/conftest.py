from collections.abc import Iterator

import pytest
from tests.fixtures.live_server import live_server

from worksible_api.config import Settings


@pytest.fixture(scope="module")
def contract_server(settings: Settings) -> Iterator[str]:
    """The service as a real process, one worker: the contract run is CPU-bound on 2 cores."""
    assert settings.database_url
    assert settings.redis_url
    with live_server(
        settings.database_url,
        settings.redis_url,
        workers=1,
        REDIS_KEY_PREFIX=settings.redis_key_prefix,
    ) as url:
        yield url
