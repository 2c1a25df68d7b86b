from collections.abc import Iterator

import pytest
from tests.fixtures.live_server import serving

from worksible_api.config import Settings


@pytest.fixture(scope="module")
def contract_server(settings: Settings) -> Iterator[str]:
    """The service as a real process, one worker: the contract run is CPU-bound on 2 cores."""
    with serving(settings, workers=1) as server:
        yield server.url
