"""The changelog (API.md §15): one source, docs/CHANGELOG.md, served as HTML, Atom and JSON."""

import re
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import client_for
from tests.factories.tenants import Tenant
from tests.fixtures.apps import app_with

from worksible_api.config import Settings
from worksible_api.deprecations import DEPRECATIONS
from worksible_api.domains.changelog.entries import KINDS, SOURCE, parse

ROOT = Path(__file__).resolve().parents[3]
ATOM = "{http://www.w3.org/2005/Atom}"


def test_the_package_serves_the_one_changelog_of_the_repository() -> None:
    assert SOURCE.read_text() == (ROOT / "docs" / "CHANGELOG.md").read_text()


class TestParse:
    SAMPLE = """# Changelog

## Deprecations

### 2026-11-01 company alias

Text.

## v1.1.0 (2026-12-02)

### Added

- One change that goes on
  over two lines, with a [link](authentication.md).
- Another.

### Notes

- Not a kind of change: left out.

## v1.0.0 (2026-11-23)

### Fixed

- A fix.
"""

    def test_releases_newest_first_with_their_changes(self) -> None:
        log = parse(self.SAMPLE)
        assert [(r.version, r.date.isoformat()) for r in log.releases] == [
            ("1.1.0", "2026-12-02"),
            ("1.0.0", "2026-11-23"),
        ]
        assert [(c.type, c.text) for c in log.releases[0].changes] == [
            ("added", "One change that goes on over two lines, with a [link](authentication.md)."),
            ("added", "Another."),
        ]
        assert [(c.type, c.text) for c in log.releases[1].changes] == [("fixed", "A fix.")]

    def test_every_heading_has_an_id_unique_on_the_page(self) -> None:
        ids = re.findall(r'<h\d id="([^"]+)"', parse(self.SAMPLE).html)
        assert "2026-11-01-company-alias" in ids
        assert {"v1.1.0", "v1.1.0-added", "v1.0.0-fixed"} <= set(ids)
        assert len(ids) == len(set(ids))

    def test_links_to_other_docs_go_to_the_documentation_site(self) -> None:
        assert 'href="https://docs.worksible.com/authentication"' in parse(self.SAMPLE).html

    def test_raw_html_is_not_rendered(self) -> None:
        log = parse("## v1.0.0 (2026-01-01)\n\n### Added\n\n- <script>alert(1)</script>\n")
        assert "<script>" not in log.html


class TestServed:
    async def test_json_needs_no_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/changelog")
        assert response.status_code == 200
        releases = response.json()["results"]
        assert releases[0]["version"] == app_version(client)
        dates = [release["date"] for release in releases]
        assert dates == sorted(dates, reverse=True)
        for release in releases:
            assert release["changes"]
            assert {change["type"] for change in release["changes"]} <= set(KINDS)
        deprecated = [c for r in releases for c in r["changes"] if c["type"] == "deprecated"]
        assert any("GET /v1/company" in change["text"] for change in deprecated)

    async def test_html_holds_every_release_and_deprecation_entry(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/changelog")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        releases = (await client.get("/v1/changelog")).json()["results"]
        for release in releases:
            assert f'id="v{release["version"]}"' in response.text
        for deprecation in DEPRECATIONS:
            assert f'id="{deprecation.changelog_anchor}"' in response.text

    async def test_atom_has_one_entry_per_release(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/changelog.atom")
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ElementTree.fromstring(response.content)
        entries = feed.findall(f"{ATOM}entry")
        releases = (await client.get("/v1/changelog")).json()["results"]
        assert [entry.findtext(f"{ATOM}title") for entry in entries] == [
            f"v{release['version']}" for release in releases
        ]
        first = entries[0]
        assert (first.findtext(f"{ATOM}id") or "").endswith(f"/changelog#v{releases[0]['version']}")
        assert "<h3>" in (first.findtext(f"{ATOM}content") or "")

    async def test_the_deprecation_link_points_at_its_entry_under_the_public_base_url(
        self, settings: Settings, tenant: Tenant
    ) -> None:
        base = "https://api.worksible.example"
        async with app_with(settings, public_base_url=base) as app, client_for(app) as http:
            alias = await http.get("/v1/company", headers=tenant.headers)
            page = await http.get("/changelog")
        (deprecation,) = DEPRECATIONS
        link = f"{base}/changelog#{deprecation.changelog_anchor}"
        assert alias.headers["link"].startswith(f"<{link}>")
        assert f'id="{deprecation.changelog_anchor}"' in page.text

    @pytest.mark.parametrize("path", ["/changelog", "/changelog.atom"])
    async def test_the_pages_are_public_and_not_rate_limited(
        self, settings: Settings, path: str
    ) -> None:
        tight = {"rate_limit_ip_per_second": 0.001, "rate_limit_ip_burst": 1}
        async with (
            app_with(settings, **tight) as app,
            client_for(app, client_ip="192.0.2.77") as http,
        ):
            statuses = {(await http.get(path)).status_code for _ in range(5)}
        assert statuses == {200}


def app_version(client: httpx.AsyncClient) -> str:
    app: FastAPI = client._transport.app  # type: ignore[attr-defined]
    return str(app.version)
