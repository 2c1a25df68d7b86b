"""POST /v1/clock-events/ingest (API.md §10): events read one by one, rejections with a code,
duplicates by (kiosk, event_id), and the batch limits."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.factories.contracts import create_contract
from tests.factories.freelancers import create_freelancer
from tests.factories.http import TIMESTAMP, assert_problem, assert_validation_error
from tests.factories.kiosks import INGEST, Site, clock, create_kiosk, create_site, ingest
from tests.factories.projects import create_project
from tests.factories.tenants import Tenant
from tests.factories.wbs import create_wbs_element

from worksible_api.kit.time import utc_now

EVENT_FIELDS = {
    "livemode",
    "id",
    "object",
    "event_id",
    "kiosk_id",
    "freelancer_id",
    "type",
    "occurred_at",
    "wbs_element_id",
    "timesheet_id",
    "created_at",
    "updated_at",
}


@pytest.fixture
async def site(app: FastAPI, tenant: Tenant) -> Site:
    return await create_site(app, tenant, end_date=date(2026, 6, 30))


def _statuses(body: dict[str, Any]) -> list[tuple[str | None, str, str | None]]:
    return [
        (result["event_id"], result["status"], result.get("code")) for result in body["results"]
    ]


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class TestIngestAnswer:
    async def test_one_result_per_event_in_order(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        body = await site.send(
            client,
            clock("k1-3", site.freelancer, "clock_out", "2026-03-02T17:00:00"),
            clock("k1-1", site.freelancer, "clock_in", "2026-03-02T09:00:00"),
            clock("k1-2", "nobody", "clock_in", "2026-03-02T09:00:00"),
            clock("k1-1", site.freelancer, "clock_in", "2026-03-02T09:00:00"),
        )
        assert body.keys() == {"results", "accepted", "duplicates", "rejected"}
        assert _statuses(body) == [
            ("k1-3", "accepted", None),
            ("k1-1", "accepted", None),
            ("k1-2", "rejected", "unknown_freelancer"),
            ("k1-1", "duplicate", None),
        ]
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 1)
        assert body["results"][0].keys() == {"event_id", "status"}
        assert body["results"][2].keys() == {"event_id", "status", "code", "detail"}
        assert body["results"][2]["detail"]

    async def test_accepted_events_are_stored_as_sent(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(
            client, clock("k1-1", site.freelancer, "clock_in", "2026-03-02T10:00:03.250+01:00")
        )
        (event,) = await site.events(client)
        assert event.keys() == EVENT_FIELDS
        assert event["object"] == "clock_event"
        assert (event["event_id"], event["type"]) == ("k1-1", "clock_in")
        assert (event["kiosk_id"], event["freelancer_id"]) == (
            str(site.kiosk.id),
            str(site.freelancer.id),
        )
        assert event["occurred_at"] == "2026-03-02T09:00:03Z"
        assert (event["wbs_element_id"], event["timesheet_id"]) == (None, None)
        assert TIMESTAMP.fullmatch(event["created_at"])

    async def test_nothing_usable_still_answers_200(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        body = await site.send(client, {"event_id": "x"}, "garbage")
        assert (body["accepted"], body["duplicates"], body["rejected"]) == (0, 0, 2)
        assert await site.events(client) == []


class TestInvalidEvents:
    @pytest.mark.parametrize(
        ("change", "where"),
        [
            pytest.param({"event_id": None}, "event_id", id="null_event_id"),
            pytest.param({"event_id": ""}, "event_id", id="empty_event_id"),
            pytest.param({"event_id": "e" * 101}, "event_id", id="long_event_id"),
            pytest.param({"event_id": 17}, "event_id", id="numeric_event_id"),
            pytest.param({"type": "lunch"}, "type", id="bad_type"),
            pytest.param({"type": None}, "type", id="null_type"),
            pytest.param({"occurred_at": "2026-03-02T09:00:00"}, "occurred_at", id="no_offset"),
            pytest.param({"occurred_at": "2026-02-30T09:00:00Z"}, "occurred_at", id="bad_date"),
            pytest.param({"occurred_at": "yesterday"}, "occurred_at", id="not_a_time"),
            pytest.param(
                {"occurred_at": "9999-12-31T23:00:00-14:00"}, "occurred_at", id="beyond_utc"
            ),
            pytest.param({"freelancer_id": 5}, "freelancer_id", id="numeric_freelancer"),
            pytest.param({"freelancer_id": ""}, "freelancer_id", id="empty_freelancer"),
            pytest.param({"note": "hi"}, "note", id="unknown_field"),
        ],
    )
    async def test_a_malformed_event_is_rejected_alone(
        self, client: httpx.AsyncClient, site: Site, change: dict[str, Any], where: str
    ) -> None:
        bad = {**clock("bad", site.freelancer, "clock_in", "2026-03-02T09:00:00"), **change}
        good = clock("good", site.freelancer, "clock_in", "2026-03-02T08:00:00")
        body = await site.send(client, bad, good)
        rejected, accepted = body["results"]
        assert (rejected["status"], rejected["code"]) == ("rejected", "invalid_event")
        assert rejected["detail"].startswith(where), rejected
        expected_id = bad["event_id"] if isinstance(bad["event_id"], str) else None
        assert rejected["event_id"] == expected_id
        assert accepted == {"event_id": "good", "status": "accepted"}

    @pytest.mark.parametrize("field", ["event_id", "freelancer_id", "type", "occurred_at"])
    async def test_a_missing_field_is_rejected(
        self, client: httpx.AsyncClient, site: Site, field: str
    ) -> None:
        event = clock("k1-1", site.freelancer, "clock_in", "2026-03-02T09:00:00")
        del event[field]
        (result,) = (await site.send(client, event))["results"]
        assert (result["status"], result["code"]) == ("rejected", "invalid_event")
        assert field in result["detail"]

    @pytest.mark.parametrize("item", ["text", 7, None, [], True])
    async def test_an_item_that_is_no_object_is_rejected(
        self, client: httpx.AsyncClient, site: Site, item: Any
    ) -> None:
        body = await site.send(client, item)
        assert _statuses(body) == [(None, "rejected", "invalid_event")]

    async def test_wbs_element_on_a_clock_out_is_invalid(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        event = clock("k1-1", site.freelancer, "clock_out", "2026-03-02T17:00:00")
        body = await site.send(client, {**event, "wbs_element_id": "anything"})
        assert _statuses(body) == [("k1-1", "rejected", "invalid_event")]


class TestRejectedEvents:
    @pytest.mark.parametrize("freelancer_id", ["not-an-id", "00000000-0000-0000-0000-000000000000"])
    async def test_unknown_freelancer(
        self, client: httpx.AsyncClient, site: Site, freelancer_id: str
    ) -> None:
        body = await site.send(client, clock("k1", freelancer_id, "clock_in", "2026-03-02T09:00"))
        assert _statuses(body) == [("k1", "rejected", "unknown_freelancer")]

    async def test_another_organizations_freelancer_is_unknown(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site, other_tenant: Tenant
    ) -> None:
        theirs = await create_freelancer(app, other_tenant.organization)
        await create_contract(app, other_tenant.organization, theirs)
        body = await site.send(client, clock("k1", theirs, "clock_in", "2026-03-02T09:00"))
        assert _statuses(body) == [("k1", "rejected", "unknown_freelancer")]
        listed = await client.get("/v1/clock-events", headers=other_tenant.headers)
        assert listed.json()["count"] == 0

    async def test_more_than_five_minutes_ahead_is_in_the_future(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        site = await create_site(app, tenant)
        now = utc_now()
        body = await site.send(
            client,
            clock("late", site.freelancer, "clock_in", _iso(now + timedelta(minutes=6))),
            clock("ok", site.freelancer, "clock_out", _iso(now + timedelta(minutes=4))),
            clock("far", site.freelancer, "clock_in", "9999-12-01T00:00:00Z"),
        )
        assert _statuses(body) == [
            ("late", "rejected", "in_the_future"),
            ("ok", "accepted", None),
            ("far", "rejected", "in_the_future"),
        ]

    @pytest.mark.parametrize(
        ("occurred_at", "status"),
        [
            pytest.param("2025-12-31T23:59:59Z", "rejected", id="before_the_start"),
            pytest.param("2026-01-01T00:00:00Z", "accepted", id="on_the_first_day"),
            pytest.param("2026-06-30T23:59:59Z", "accepted", id="on_the_last_day"),
            pytest.param("2026-07-01T00:00:00Z", "rejected", id="after_the_end"),
            pytest.param("2026-07-01T01:00:00+02:00", "accepted", id="the_utc_date_decides"),
        ],
    )
    async def test_the_contracts_dates(
        self, client: httpx.AsyncClient, site: Site, occurred_at: str, status: str
    ) -> None:
        body = await site.send(client, clock("k1", site.freelancer, "clock_in", occurred_at))
        code = "no_active_contract" if status == "rejected" else None
        assert _statuses(body) == [("k1", status, code)]

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"status": "draft"}, id="draft"),
            pytest.param({"status": "ended"}, id="ended"),
            pytest.param({"type": "fixed"}, id="fixed"),
        ],
    )
    async def test_only_active_hourly_contracts_count(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, fields: dict[str, Any]
    ) -> None:
        site = await create_site(app, tenant, **fields)
        body = await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"))
        assert _statuses(body) == [("k1", "rejected", "no_active_contract")]

    async def test_a_freelancer_without_contracts(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        idle = await create_freelancer(app, site.tenant.organization)
        colleague = await create_freelancer(app, site.tenant.organization)
        await create_contract(app, site.tenant.organization, colleague)
        body = await site.send(client, clock("k1", idle, "clock_in", "2026-03-02T09:00"))
        assert _statuses(body) == [("k1", "rejected", "no_active_contract")]

    async def test_rejected_events_are_not_kept(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(client, clock("k1", site.freelancer, "clock_in", "2027-03-02T09:00"))
        assert await site.events(client) == []
        # Fixed and sent again under the same id, the event is taken.
        body = await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"))
        assert _statuses(body) == [("k1", "accepted", None)]


class TestWbsElementOnClockIn:
    async def test_an_element_of_the_contracts_project(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        element = await create_wbs_element(app, project)
        site = await create_site(app, tenant, project=project)
        body = await site.send(
            client,
            clock(
                "k1",
                site.freelancer,
                "clock_in",
                "2026-03-02T09:00",
                wbs_element_id=str(element.id),
            ),
        )
        assert _statuses(body) == [("k1", "accepted", None)]
        (event,) = await site.events(client)
        assert event["wbs_element_id"] == str(element.id)

    async def test_unusable_elements(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization)
        site = await create_site(app, tenant, project=project)
        elsewhere = await create_wbs_element(app, await create_project(app, tenant.organization))
        theirs = await create_wbs_element(app, await create_project(app, other_tenant.organization))
        candidates = [
            "nope",
            "00000000-0000-0000-0000-000000000000",
            str(elsewhere.id),
            str(theirs.id),
        ]
        body = await site.send(
            client,
            *(
                clock(
                    f"k{index}",
                    site.freelancer,
                    "clock_in",
                    f"2026-03-0{index + 2}T09:00",
                    wbs_element_id=candidate,
                )
                for index, candidate in enumerate(candidates)
            ),
        )
        assert [code for _, _, code in _statuses(body)] == ["wbs_element_invalid"] * 4
        assert "belongs to project" in body["results"][2]["detail"]

    async def test_a_contract_without_project_takes_no_element(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        element = await create_wbs_element(app, await create_project(app, site.tenant.organization))
        body = await site.send(
            client,
            clock(
                "k1",
                site.freelancer,
                "clock_in",
                "2026-03-02T09:00",
                wbs_element_id=str(element.id),
            ),
        )
        assert _statuses(body) == [("k1", "rejected", "wbs_element_invalid")]

    async def test_the_contracts_currency_must_be_the_projects(
        self, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        project = await create_project(app, tenant.organization, currency="USD")
        element = await create_wbs_element(app, project)
        site = await create_site(app, tenant, project=project, currency="EUR")
        body = await site.send(
            client,
            clock(
                "k1",
                site.freelancer,
                "clock_in",
                "2026-03-02T09:00",
                wbs_element_id=str(element.id),
            ),
        )
        assert _statuses(body) == [("k1", "rejected", "wbs_element_invalid")]
        assert "USD" in body["results"][0]["detail"]


class TestBatchLimits:
    async def test_500_events_are_taken(self, client: httpx.AsyncClient, site: Site) -> None:
        start = datetime(2026, 3, 2, tzinfo=UTC)
        events = [
            clock(f"k{index}", site.freelancer, "clock_in", _iso(start + timedelta(minutes=index)))
            for index in range(500)
        ]
        body = await site.send(client, *events)
        assert (body["accepted"], len(body["results"])) == (500, 500)

    async def test_501_events_are_422(self, client: httpx.AsyncClient, site: Site) -> None:
        events = [
            clock(f"k{index}", site.freelancer, "clock_in", "2026-03-02T09:00")
            for index in range(501)
        ]
        errors = assert_validation_error(await ingest(client, site.secret, events))
        assert errors[0]["loc"] == ["body", "events"]
        assert await site.events(client) == []

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param({"events": []}, id="empty"),
            pytest.param({}, id="missing"),
            pytest.param({"events": None}, id="null"),
            pytest.param({"events": {"event_id": "k1"}}, id="not_a_list"),
            pytest.param({"events": [], "kiosk": "x"}, id="unknown_field"),
            pytest.param([{"event_id": "k1"}], id="bare_list"),
        ],
    )
    async def test_a_batch_of_the_wrong_shape_is_422(
        self, client: httpx.AsyncClient, site: Site, body: Any
    ) -> None:
        response = await client.post(INGEST, json=body, headers={"X-Kiosk-Secret": site.secret})
        assert_validation_error(response)

    async def test_malformed_json_is_400(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(
            INGEST,
            content=b'{"events": [',
            headers={"X-Kiosk-Secret": site.secret, "Content-Type": "application/json"},
        )
        assert_problem(response, 400, "invalid_json")


class TestDuplicates:
    async def test_a_resent_batch_changes_nothing(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        events = [
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("k2", site.freelancer, "clock_out", "2026-03-02T17:00"),
            clock("k3", "nobody", "clock_in", "2026-03-02T09:00"),
        ]
        first = await site.send(client, *events)
        stored = await site.events(client)
        entries = await site.entries(client)
        again = await site.send(client, *events)
        assert _statuses(first) == [
            ("k1", "accepted", None),
            ("k2", "accepted", None),
            ("k3", "rejected", "unknown_freelancer"),
        ]
        assert _statuses(again) == [
            ("k1", "duplicate", None),
            ("k2", "duplicate", None),
            ("k3", "rejected", "unknown_freelancer"),
        ]
        assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 1)
        assert await site.events(client) == stored
        assert await site.entries(client) == entries
        assert len(entries) == 1

    async def test_a_duplicate_is_judged_by_its_id_alone(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"))
        changed = clock("k1", site.freelancer, "clock_out", "2027-03-02T17:00")
        assert _statuses(await site.send(client, changed)) == [("k1", "duplicate", None)]
        (event,) = await site.events(client)
        assert event["type"] == "clock_in"

    async def test_repeated_in_one_batch(self, client: httpx.AsyncClient, site: Site) -> None:
        body = await site.send(
            client,
            clock("k1", "nobody", "clock_in", "2026-03-02T09:00"),
            clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"),
            clock("k1", site.freelancer, "clock_out", "2026-03-02T10:00"),
        )
        # The first usable one counts; an unusable one is not kept and holds no id.
        assert _statuses(body) == [
            ("k1", "rejected", "unknown_freelancer"),
            ("k1", "accepted", None),
            ("k1", "duplicate", None),
        ]
        assert [event["type"] for event in await site.events(client)] == ["clock_in"]

    async def test_ids_are_per_kiosk(
        self, app: FastAPI, client: httpx.AsyncClient, site: Site
    ) -> None:
        _, other_secret = await create_kiosk(app, site.tenant.organization)
        await site.send(client, clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00"))
        response = await ingest(
            client, other_secret, [clock("k1", site.freelancer, "clock_out", "2026-03-02T10:00")]
        )
        assert _statuses(response.json()) == [("k1", "accepted", None)]
        assert len(await site.events(client)) == 2


class TestIdempotencyKey:
    async def test_a_retry_with_the_key_replays_the_first_answer(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        body = {"events": [clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00")]}
        headers = {"X-Kiosk-Secret": site.secret, "Idempotency-Key": "batch-0001"}
        first = await client.post(INGEST, json=body, headers=headers)
        again = await client.post(INGEST, json=body, headers=headers)
        assert _statuses(first.json()) == [("k1", "accepted", None)]
        assert (again.status_code, again.json()) == (200, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        # Without the key, the resend is answered afresh: a duplicate.
        fresh = await ingest(client, site.secret, body["events"])
        assert _statuses(fresh.json()) == [("k1", "duplicate", None)]

    async def test_the_key_belongs_to_one_request(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        headers = {"X-Kiosk-Secret": site.secret, "Idempotency-Key": "batch-0002"}
        first = {"events": [clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00")]}
        other = {"events": [clock("k2", site.freelancer, "clock_in", "2026-03-02T09:00")]}
        assert (await client.post(INGEST, json=first, headers=headers)).status_code == 200
        response = await client.post(INGEST, json=other, headers=headers)
        assert_problem(response, 422, "idempotency_key_reused")

    @pytest.mark.parametrize("key", [b"", b"k" * 256, "clé".encode()])
    async def test_an_invalid_key_is_422(
        self, client: httpx.AsyncClient, site: Site, key: bytes
    ) -> None:
        body = {"events": [clock("k1", site.freelancer, "clock_in", "2026-03-02T09:00")]}
        response = await client.post(
            INGEST,
            json=body,
            headers={
                "X-Kiosk-Secret": site.secret.encode(),
                "Idempotency-Key": key,
            },
        )
        errors = assert_validation_error(response)
        assert errors[0]["loc"] == ["header", "Idempotency-Key"]
        assert await site.events(client) == []
