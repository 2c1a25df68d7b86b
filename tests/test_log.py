"""Logs are JSON lines on stdout; events below the level are dropped before any formatting."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from worksible_api.log import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.configure(**config)
    root.handlers[:], root.level = handlers, level


def test_events_at_the_level_are_json_lines_and_below_it_nothing(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning")
    logger = structlog.get_logger("tests.log")
    logger.info("quiet", detail=1)
    logger.warning("loud", detail=2)
    logging.getLogger("tests.stdlib").warning("from the standard library")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event"] for line in lines] == ["loud", "from the standard library"]
    assert lines[0]["detail"] == 2
    assert lines[0]["level"] == "warning"
    assert lines[0]["logger"] == "tests.log"
    assert "timestamp" in lines[0]


def test_exceptions_carry_their_traceback(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    try:
        raise ValueError("broken")
    except ValueError:
        structlog.get_logger("tests.log.errors").exception("unhandled_error", path="/v1/x")
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["level"] == "error"
    assert "ValueError: broken" in line["exception"]
