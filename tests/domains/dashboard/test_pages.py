"""The dashboard's pages (API.md §14): what each shows, who may act, and tenant isolation."""

import re
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.api_keys import bearer, create_api_key
from tests.factories.kiosks import create_kiosk
from tests.factories.organizations import create_organization
from tests.factories.request_logs import log_row, write_rows
from tests.factories.tenants import Tenant
from tests.factories.users import create_user, form_token, signed_in
from tests.factories.webhooks import PUBLIC_HOOK_URL, create_webhook_endpoint

from worksible_api.domains.request_logs import traffic as traffic_module
from worksible_api.domains.request_logs.repository import HOUR
from worksible_api.domains.users.schemas import Role
from worksible_api.kit.time import utc_now
from worksible_api.models import User
from worksible_api.models.organization import Plan

SETTINGS = "/dashboard/settings/api"
MINUTE = timedelta(minutes=1)
PAGES = ["/dashboard/", SETTINGS, "/dashboard/logs", "/dashboard/deprecations"]
REVEALED = re.compile(
    r'data-testid="revealed-secret"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*data-testid="revealed-secret"'
)


def revealed(html: str) -> str:
    found = REVEALED.search(html)
    assert found is not None, html[:2000]
    return found.group(1) or found.group(2)


@pytest.fixture
async def owner(app: FastAPI, tenant: Tenant) -> User:
    return (await create_user(app, tenant.organization, role=Role.OWNER))[0]


class TestEveryPage:
    @pytest.mark.parametrize("path", PAGES)
    async def test_answers_a_page_that_loads_only_our_assets(
        self, app: FastAPI, owner: User, path: str
    ) -> None:
        async with signed_in(app, owner) as browser:
            answer = await browser.http.get(path)
        assert answer.status_code == 200, answer.text[:1000]
        assert answer.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        sources = re.findall(r'(?:src|href)="([^"#]+)"', answer.text)
        assert sources
        assert all(source.startswith("/") and not source.startswith("//") for source in sources), (
            sources
        )


class TestApiAndIntegrations:
    async def test_a_generated_token_is_shown_once_and_works(
        self, app: FastAPI, client: httpx.AsyncClient, owner: User
    ) -> None:
        async with signed_in(app, owner) as browser:
            made = await browser.submit(
                SETTINGS,
                f"{SETTINGS}/keys",
                name="Payroll sync",
                scopes=["freelancers:read", "invoices:write"],
                lifetime_days="90",
            )
            assert made.status_code == 201
            key = revealed(made.text)
            again = await browser.http.get(SETTINGS)
        assert key not in again.text
        assert "Payroll sync" in again.text
        assert (await client.get("/v1/freelancers", headers=bearer(key))).status_code == 200
        refused = await client.get("/v1/payouts", headers=bearer(key))
        assert refused.status_code == 403

    async def test_rotate_shows_the_new_key_once_and_retires_the_old(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        api_key, old = await create_api_key(app, tenant.organization)
        async with signed_in(app, owner) as browser:
            rotated = await browser.submit(SETTINGS, f"{SETTINGS}/keys/{api_key.id}/rotate")
        new = revealed(rotated.text)
        assert (await client.get("/v1/companies/me", headers=bearer(old))).status_code == 401
        assert (await client.get("/v1/companies/me", headers=bearer(new))).status_code == 200

    async def test_revoke_asks_first_then_the_key_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        api_key, key = await create_api_key(app, tenant.organization)
        confirm = f"{SETTINGS}/keys/{api_key.id}/revoke"
        async with signed_in(app, owner) as browser:
            question = await browser.http.get(confirm)
            assert "cannot be undone" in question.text
            done = await browser.http.post(confirm, data={"csrf_token": form_token(question.text)})
        assert done.status_code == 303
        assert (await client.get("/v1/companies/me", headers=bearer(key))).status_code == 401

    async def test_kiosks_are_made_rotated_and_revoked_here_too(
        self, app: FastAPI, client: httpx.AsyncClient, owner: User
    ) -> None:
        async with signed_in(app, owner) as browser:
            made = await browser.submit(SETTINGS, f"{SETTINGS}/kiosks", name="Gate 3")
            secret = revealed(made.text)
            assert secret.startswith("wsk_kiosk_")
            listed = await browser.http.get(SETTINGS)
        assert "Gate 3" in listed.text
        assert secret not in listed.text

    async def test_webhook_endpoints_are_added_disabled_rotated_and_deleted_here(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        async with signed_in(app, owner) as browser:
            made = await browser.submit(
                SETTINGS,
                f"{SETTINGS}/webhooks",
                url=PUBLIC_HOOK_URL,
                events=["invoice.paid", "payout.failed"],
                description="Payroll system",
            )
            assert made.status_code == 201, made.text[:2000]
            secret = revealed(made.text)
            assert secret.startswith("whsec_")
            listed = await browser.http.get(SETTINGS)
            assert PUBLIC_HOOK_URL in listed.text
            assert secret not in listed.text
            endpoint_id = re.findall(r'data-endpoint-id="([^"]+)"', listed.text)[0]
            base = f"{SETTINGS}/webhooks/{endpoint_id}"
            rotated = await browser.submit(SETTINGS, f"{base}/rotate")
            assert revealed(rotated.text) not in (secret, "")
            await browser.submit(SETTINGS, f"{base}/status", status="disabled")
            seen = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=tenant.headers)
            assert seen.json()["status"] == "disabled"
            assert seen.json()["events"] == ["invoice.paid", "payout.failed"]
            question = await browser.http.get(f"{base}/delete")
            assert "delivery history" in question.text
            done = await browser.http.post(
                f"{base}/delete", data={"csrf_token": form_token(question.text)}
            )
            assert done.status_code == 303
        gone = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=tenant.headers)
        assert gone.status_code == 404

    @pytest.mark.parametrize(
        ("fields", "said"),
        [
            ({"url": "https://10.1.2.3/hooks", "all_events": "1"}, "non-public"),
            ({"url": "http://93.184.215.14/hooks", "all_events": "1"}, "https"),
            ({"url": PUBLIC_HOOK_URL}, "Choose the events"),
            ({"url": PUBLIC_HOOK_URL, "events": ["no.such_event"]}, "no event type no.such_event"),
        ],
    )
    async def test_a_refused_endpoint_says_why_and_adds_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        owner: User,
        fields: dict[str, object],
        said: str,
    ) -> None:
        async with signed_in(app, owner) as browser:
            refused = await browser.submit(SETTINGS, f"{SETTINGS}/webhooks", **fields)
        assert refused.status_code == 422
        assert said.lower() in refused.text.lower(), refused.text[:3000]
        listed = await client.get("/v1/webhook-endpoints", headers=tenant.headers)
        assert listed.json()["results"] == []

    async def test_a_member_sees_the_keys_but_cannot_act(
        self, app: FastAPI, tenant: Tenant, owner: User
    ) -> None:
        api_key, _ = await create_api_key(app, tenant.organization)
        member, _ = await create_user(app, tenant.organization, role=Role.MEMBER)
        async with signed_in(app, member) as browser:
            page = await browser.http.get(SETTINGS)
            assert api_key.prefix in page.text
            assert "Generate token" not in page.text
            assert "Rotate" not in page.text
            for action in (
                f"{SETTINGS}/keys",
                f"{SETTINGS}/keys/{api_key.id}/rotate",
                f"{SETTINGS}/keys/{api_key.id}/revoke",
                f"{SETTINGS}/kiosks",
                f"{SETTINGS}/webhooks",
            ):
                refused = await browser.http.post(
                    action,
                    data={"csrf_token": form_token(page.text), "name": "x", "all_scopes": "1"},
                )
                assert refused.status_code == 403, action
            assert (
                await browser.http.get(f"{SETTINGS}/keys/{api_key.id}/revoke")
            ).status_code == 403

    @pytest.mark.parametrize("plan", [Plan.TRIAL, Plan.CORE])
    async def test_a_plan_without_api_access_says_so(self, app: FastAPI, plan: Plan) -> None:
        organization = await create_organization(app, plan=plan)
        user, _ = await create_user(app, organization, role=Role.OWNER)
        async with signed_in(app, user) as browser:
            page = await browser.http.get(SETTINGS)
            attempt = await browser.http.post(
                f"{SETTINGS}/keys", data={"csrf_token": form_token(page.text), "all_scopes": "1"}
            )
        assert "come with the Professional" in page.text
        assert f"<strong>{plan.value}</strong>" in page.text
        assert "Generate token</button>" not in page.text
        assert attempt.status_code == 403


class TestTenancy:
    """A second organization's objects do not exist for this one's users (API.md §14)."""

    async def test_another_organizations_keys_kiosks_and_endpoints_are_404(
        self, app: FastAPI, client: httpx.AsyncClient, other_tenant: Tenant, owner: User
    ) -> None:
        theirs, their_key = await create_api_key(app, other_tenant.organization)
        kiosk, _ = await create_kiosk(app, other_tenant.organization)
        hook_id = (await create_webhook_endpoint(client, other_tenant))["id"]
        async with signed_in(app, owner) as browser:
            page = await browser.http.get(SETTINGS)
            token = form_token(page.text)
            assert theirs.prefix not in page.text
            for action in (
                f"{SETTINGS}/keys/{theirs.id}/rotate",
                f"{SETTINGS}/keys/{theirs.id}/revoke",
                f"{SETTINGS}/kiosks/{kiosk.id}/rotate",
                f"{SETTINGS}/kiosks/{kiosk.id}/revoke",
                f"{SETTINGS}/webhooks/{hook_id}/rotate",
                f"{SETTINGS}/webhooks/{hook_id}/status",
                f"{SETTINGS}/webhooks/{hook_id}/delete",
            ):
                answer = await browser.http.post(
                    action, data={"csrf_token": token, "status": "disabled"}
                )
                assert answer.status_code == 404, action
            for page_path in (
                f"{SETTINGS}/keys/{theirs.id}/revoke",
                f"{SETTINGS}/kiosks/{kiosk.id}/revoke",
                f"{SETTINGS}/webhooks/{hook_id}/delete",
            ):
                assert (await browser.http.get(page_path)).status_code == 404
        assert (await client.get("/v1/companies/me", headers=bearer(their_key))).status_code == 200
        still = await client.get(f"/v1/webhook-endpoints/{hook_id}", headers=other_tenant.headers)
        assert still.json()["status"] == "enabled"

    async def test_another_organizations_requests_are_not_in_the_log(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        tenant: Tenant,
        other_tenant: Tenant,
        owner: User,
    ) -> None:
        theirs = await client.get("/v1/companies/me", headers=other_tenant.headers)
        ours = await client.get("/v1/companies/me", headers=tenant.headers)
        await app.state.request_log_writer.flush()
        async with signed_in(app, owner) as browser:
            page = await browser.http.get("/dashboard/logs")
            detail = await browser.http.get(f"/dashboard/logs/{theirs.headers['x-request-id']}")
            export = await browser.http.get("/dashboard/logs/export.csv")
        assert ours.headers["x-request-id"] in page.text
        assert theirs.headers["x-request-id"] not in page.text
        assert detail.status_code == 404
        assert theirs.headers["x-request-id"] not in export.text
        assert ours.headers["x-request-id"] in export.text


class TestRequestLog:
    async def test_filters_details_and_csv(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        found = await client.get("/v1/companies/me", headers=tenant.headers)
        missing = await client.get("/v1/freelancers/not-an-id", headers=tenant.headers)
        await app.state.request_log_writer.flush()
        async with signed_in(app, owner) as browser:
            errors = await browser.http.get("/dashboard/logs", params={"status": "4xx"})
            exact = await browser.http.get(
                "/dashboard/logs", params={"status": "200", "path": "/v1/companies"}
            )
            detail = await browser.http.get(f"/dashboard/logs/{missing.headers['x-request-id']}")
            export = await browser.http.get("/dashboard/logs/export.csv", params={"status": "4xx"})
            bad = await browser.http.get(
                "/dashboard/logs", params={"status": "teapot", "from": "yesterday"}
            )
        assert missing.headers["x-request-id"] in errors.text
        assert found.headers["x-request-id"] not in errors.text
        assert found.headers["x-request-id"] in exact.text
        assert missing.headers["x-request-id"] not in exact.text
        assert "/v1/freelancers/not-an-id" in detail.text
        assert export.headers["content-type"].startswith("text/csv")
        assert missing.headers["x-request-id"] in export.text
        assert found.headers["x-request-id"] not in export.text
        assert bad.status_code == 200
        assert "Status is a code" in bad.text
        # What the page's reads took, for developer tools and the benchmark.
        assert re.fullmatch(r"rows;dur=\d+\.\d, chart;dur=\d+\.\d", errors.headers["server-timing"])

    async def test_paths_are_shown_escaped_and_csv_cells_never_run_as_formulas(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        hostile = await client.get(
            '/v1/freelancers/"><img src=x onerror=alert(1)>',
            headers={**tenant.headers, "User-Agent": "=HYPERLINK(1)"},
        )
        await app.state.request_log_writer.flush()
        async with signed_in(app, owner) as browser:
            page = await browser.http.get("/dashboard/logs")
            export = await browser.http.get("/dashboard/logs/export.csv")
        assert hostile.headers["x-request-id"] in page.text
        assert "<img src=x" not in page.text
        assert "&lt;img src=x" in page.text
        assert "'=HYPERLINK(1)" in export.text

    async def test_older_rows_are_paged(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        ids = [
            (await client.get("/v1/companies/me", headers=tenant.headers)).headers["x-request-id"]
            for _ in range(55)
        ]
        await app.state.request_log_writer.flush()
        async with signed_in(app, owner) as browser:
            first = await browser.http.get("/dashboard/logs")
            older_link = re.search(r'href="(/dashboard/logs\?[^"]+)" rel="next"', first.text)
            assert older_link is not None
            second = await browser.http.get(older_link.group(1).replace("&amp;", "&"))
        shown = re.findall(r'data-request-id="([^"]+)"', first.text) + re.findall(
            r'data-request-id="([^"]+)"', second.text
        )
        assert shown[:55] == list(reversed(ids))

    async def test_a_path_prefix_is_taken_literally(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
    ) -> None:
        quoted = await client.get("/v1/freelancers/it's%5C%25", headers=tenant.headers)
        await app.state.request_log_writer.flush()
        async with signed_in(app, owner) as browser:
            exact = await browser.http.get(
                "/dashboard/logs", params={"path": "/v1/freelancers/it's\\%"}
            )
            wildcards = await browser.http.get(
                "/dashboard/logs", params={"path": "/v1/freelancers/it_s"}
            )
        assert exact.status_code == wildcards.status_code == 200
        assert quoted.headers["x-request-id"] in exact.text
        assert quoted.headers["x-request-id"] not in wildcards.text

    async def test_a_path_filter_says_how_much_of_the_range_its_chart_counts(
        self, app: FastAPI, tenant: Tenant, owner: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(traffic_module, "RAW_CHART_REQUESTS", 2)
        this_hour = utc_now().replace(minute=0, second=0, microsecond=0)
        rows = [
            log_row(tenant, path="/v1/invoices", created_at=this_hour - hours * HOUR + MINUTE)
            for hours in (1, 2, 3)
        ]
        await write_rows(app, rows)
        async with signed_in(app, owner) as browser:
            by_path = await browser.http.get("/dashboard/logs", params={"path": "/v1/invoices"})
            unfiltered = await browser.http.get("/dashboard/logs")
        # The chart counts the two newest hours' requests; the rows are all there.
        note = 'data-testid="chart-counted-since"'
        assert note in by_path.text
        assert f"{this_hour - 2 * HOUR:%Y-%m-%dT%H:%M} UTC" in by_path.text
        assert 'data-testid="total">2<' in by_path.text
        assert all(row["request_id"] in by_path.text for row in rows)
        assert note not in unfiltered.text
        assert 'data-testid="total">3<' in unfiltered.text


async def test_the_deprecations_page_lists_what_the_keys_called(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
) -> None:
    for _ in range(3):
        await client.get("/v1/company", headers=tenant.headers)
    await app.state.request_log_writer.flush()
    async with signed_in(app, owner) as browser:
        page = await browser.http.get("/dashboard/deprecations")
    assert "GET /v1/company" in page.text
    assert "2027-11-01" in page.text
    assert "GET /v1/companies/me" in page.text
    assert tenant.api_key.prefix in page.text
    assert "<td>3</td>" in page.text


async def test_the_overview_shows_the_last_days_traffic(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, owner: User
) -> None:
    for path in (
        "/v1/companies/me",
        "/v1/companies/me",
        "/v1/freelancers/nope",
        "/v1/companies/me",
    ):
        await client.get(path, headers=tenant.headers)
    await app.state.request_log_writer.flush()
    # Earlier in the day (counted by the hourly rollup), and the day before (not counted).
    now = utc_now()
    await write_rows(
        app,
        [
            log_row(tenant, created_at=now - 10 * HOUR),
            log_row(tenant, created_at=now - 10 * HOUR, status=503),
            log_row(tenant, created_at=now - 25 * HOUR),
        ],
    )
    async with signed_in(app, owner) as browser:
        page = await browser.http.get("/dashboard/")
    assert tenant.organization.name in page.text
    assert 'data-testid="requests">6<' in page.text
    assert 'data-testid="error-rate">33.3 %<' in page.text
    assert re.fullmatch(r"chart;dur=\d+\.\d", page.headers["server-timing"])
