"""The front-end packages under static/ are exactly what scripts/vendor_assets.py extracted.

A file edited, added or removed by hand fails here: change the pin in the script and rerun it.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import worksible_api

STATIC = Path(worksible_api.__file__).resolve().parent / "static"
# What the service's pages are written against, by folder under static/: npm package, major.
EXPECTED = {
    "swagger-ui": ("swagger-ui-dist", 5),
    "dashboard/vendor/htmx": ("htmx.org", 2),
    "dashboard/vendor/pico": ("@picocss/pico", 2),
    "dashboard/vendor/uplot": ("uplot", 1),
}
VENDORED = sorted(
    path.parent.relative_to(STATIC).as_posix() for path in STATIC.rglob("SOURCE.json")
)


def test_every_package_is_vendored_and_no_other() -> None:
    assert sorted(EXPECTED) == VENDORED


@pytest.mark.parametrize("folder", VENDORED)
class TestFolder:
    @pytest.fixture
    def source(self, folder: str) -> dict[str, Any]:
        recorded: dict[str, Any] = json.loads((STATIC / folder / "SOURCE.json").read_text())
        return recorded

    def test_names_the_package_at_the_expected_major(
        self, folder: str, source: dict[str, Any]
    ) -> None:
        package, major = EXPECTED[folder]
        assert source["package"] == package
        assert source["version"].split(".")[0] == str(major), source["version"]
        assert source["integrity"].startswith("sha512-")

    def test_files_match_their_recorded_sha256(self, folder: str, source: dict[str, Any]) -> None:
        assert source["sha256"]
        for name, digest in source["sha256"].items():
            path = STATIC / folder / name
            assert path.is_file(), name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name

    def test_holds_only_the_recorded_files(self, folder: str, source: dict[str, Any]) -> None:
        present = {
            path.relative_to(STATIC / folder).as_posix() for path in (STATIC / folder).rglob("*")
        }
        assert present == {*source["sha256"], "SOURCE.json"}

    def test_ships_the_licence(self, source: dict[str, Any]) -> None:
        assert any(name.startswith("LICENSE") for name in source["sha256"])
