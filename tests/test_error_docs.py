"""docs/errors.md lists every error code the service can answer (README: "every error code")."""

from pathlib import Path

from worksible_api.errors import ApiError

ERRORS_DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"


def _codes(cls: type[ApiError]) -> set[str]:
    codes = {cls.code}
    for subclass in cls.__subclasses__():
        codes |= _codes(subclass)
    return codes


def test_every_error_code_is_documented() -> None:
    documented = ERRORS_DOC.read_text()
    missing = sorted(code for code in _codes(ApiError) if f"`{code}`" not in documented)
    assert missing == []
