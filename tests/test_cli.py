"""The `worksible-api` console command (API.md §11), run as operators run it: a subprocess.

JSON on stdout and exit 0 on success; exit non-zero, one line on stderr and nothing on
stdout on failure. Keys it makes must work against the API, and plan changes must reach it.
"""

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.factories.api_keys import bearer
from tests.factories.http import TIMESTAMP, assert_problem
from worksible_api.config import Settings
from worksible_api.models import ApiKey, Organization
from worksible_api.servers import ServerUrls

CONSOLE_SCRIPT = Path(sys.executable).parent / "worksible-api"
# cli.py has no `__main__` guard, so `python -m worksible_api.cli` would do nothing.
COMMAND = (
    [str(CONSOLE_SCRIPT)]
    if CONSOLE_SCRIPT.is_file()
    else [sys.executable, "-c", "from worksible_api.cli import main; main()"]
)
TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        assert self.returncode == 0, self.stderr
        assert self.stderr == "", self.stderr
        payload: dict[str, Any] = json.loads(self.stdout)
        return payload

    def assert_failed(self) -> str:
        """Non-zero exit, nothing on stdout, exactly one line on stderr; returns that line."""
        assert self.returncode != 0, self.stdout
        assert self.stdout == ""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].strip(), self.stderr
        assert "Traceback" not in self.stderr
        return lines[0]


@pytest.fixture
def cli_env(
    database_url: str, server_urls: ServerUrls, settings: Settings, tmp_path: Path
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": server_urls.redis_url,
        # The same key-cache namespace as the app under test, as in a real deployment:
        # `orgs set-plan` must evict the keys the running service has cached.
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        # Never fall back to embedded servers, even if a URL above were ignored.
        "WORKSIBLE_DATA_DIR": str(tmp_path / "no-embedded-servers"),
    }
    return env


@pytest.fixture
def worksible(cli_env: dict[str, str], tmp_path: Path) -> "Cli":
    return Cli(cli_env, tmp_path)


class Cli:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        # An empty folder: no stray `.env` can change the settings.
        self.cwd = cwd

    async def __call__(self, *args: str) -> Run:
        process = await asyncio.create_subprocess_exec(
            *COMMAND,
            *args,
            env=self.env,
            cwd=self.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return Run(process.returncode, stdout.decode(), stderr.decode())

    async def create_org(self, plan: str = "professional", **options: str) -> dict[str, Any]:
        args = ["orgs", "create", "--name", f"CLI {uuid4().hex[:8]}", "--plan", plan]
        for option, value in options.items():
            args += [f"--{option}", value]
        return (await self(*args)).json()


async def _organizations_named(app: FastAPI, name: str) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(Organization.name == name)
        count: int = (await session.execute(statement)).scalar_one()
        return count


class TestOrgsCreate:
    async def test_prints_the_organization(self, app: FastAPI, worksible: Cli) -> None:
        name = f"Acme {uuid4().hex[:8]}"
        run = await worksible(
            "orgs", "create", "--name", name, "--plan", "professional",
            "--country", "DE", "--currency", "EUR",
        )  # fmt: skip
        company = run.json()
        assert company["object"] == "company"
        assert company["name"] == name
        assert company["plan"] == "professional"
        assert company["country"] == "DE"
        assert company["default_currency"] == "EUR"
        assert company["billing_email"] is None
        assert company["metadata"] == {}
        assert TIMESTAMP.fullmatch(company["created_at"])
        async with app.state.sessionmaker() as session:
            stored = await session.get(Organization, UUID(company["id"]))
        assert stored is not None
        assert (stored.name, stored.plan, stored.country) == (name, "professional", "DE")

    async def test_defaults(self, worksible: Cli) -> None:
        company = await worksible.create_org("enterprise")
        assert company["plan"] == "enterprise"
        assert company["country"] is None
        assert company["default_currency"] == "EUR"

    @pytest.mark.parametrize(
        ("option", "value"),
        [("plan", "gold"), ("country", "JJ"), ("country", "de"), ("currency", "ABC")],
    )
    async def test_bad_value_fails_and_creates_nothing(
        self, app: FastAPI, worksible: Cli, option: str, value: str
    ) -> None:
        name = f"Bad {uuid4().hex[:8]}"
        options = {"plan": "professional", "country": "DE", "currency": "EUR", option: value}
        run = await worksible(
            "orgs", "create", "--name", name, "--plan", options["plan"],
            "--country", options["country"], "--currency", options["currency"],
        )  # fmt: skip
        line = run.assert_failed()
        assert value in line
        assert await _organizations_named(app, name) == 0


class TestKeysCreate:
    async def test_key_works_against_the_api_with_its_scopes(
        self, app: FastAPI, client: httpx.AsyncClient, worksible: Cli
    ) -> None:
        company = await worksible.create_org(country="DE")
        created = (
            await worksible("keys", "create", "--org", company["id"], "--scopes", "company:read")
        ).json()
        assert created["object"] == "api_key"
        assert created["scopes"] == ["company:read"]
        assert created["status"] == "active"
        assert created["key"].startswith(created["prefix"] + "_")
        assert created["prefix"].startswith("wsk_live_")

        me = await client.get("/v1/companies/me", headers=bearer(created["key"]))
        assert me.status_code == 200, me.text
        assert me.json()["id"] == company["id"]
        assert me.json()["country"] == "DE"

        patch = await client.patch(
            "/v1/companies/me", json={"name": "Nope"}, headers=bearer(created["key"])
        )
        assert_problem(patch, 403, "insufficient_scope")
        listing = await client.get("/v1/api-keys", headers=bearer(created["key"]))
        assert_problem(listing, 403, "insufficient_scope")

        # Only a hash is stored.
        async with app.state.sessionmaker() as session:
            stored = await session.get(ApiKey, UUID(created["id"]))
        assert stored is not None
        assert created["key"].rsplit("_", 1)[1] not in stored.secret_hash

    async def test_test_key_acts_for_the_test_twin(
        self, client: httpx.AsyncClient, worksible: Cli
    ) -> None:
        company = await worksible.create_org()
        created = (await worksible("keys", "create", "--org", company["id"], "--test")).json()
        assert created["prefix"].startswith("wsk_test_")
        assert created["key"].startswith(created["prefix"] + "_")
        assert created["livemode"] is False
        me = await client.get("/v1/companies/me", headers=bearer(created["key"]))
        assert me.status_code == 200, me.text
        assert me.json()["id"] != company["id"]
        assert (me.json()["livemode"], me.json()["name"]) == (False, company["name"])
        # A second one joins the same twin.
        again = (await worksible("keys", "create", "--org", company["id"], "--test")).json()
        me_again = await client.get("/v1/companies/me", headers=bearer(again["key"]))
        assert me_again.json()["id"] == me.json()["id"]

    async def test_options(self, client: httpx.AsyncClient, worksible: Cli) -> None:
        company = await worksible.create_org()
        created = (
            await worksible(
                "keys", "create", "--org", company["id"], "--name", "Payroll sync",
                "--scopes", "company:write,api_keys:read", "--expires-in-days", "30",
            )
        ).json()  # fmt: skip
        assert created["name"] == "Payroll sync"
        assert sorted(created["scopes"]) == ["api_keys:read", "company:write"]
        expires_at = datetime.fromisoformat(created["expires_at"])
        assert abs(expires_at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(hours=1)
        listing = await client.get("/v1/api-keys", headers=bearer(created["key"]))
        assert listing.status_code == 200
        assert [item["id"] for item in listing.json()["results"]] == [created["id"]]

    async def test_default_scopes_are_everything(
        self, client: httpx.AsyncClient, worksible: Cli
    ) -> None:
        company = await worksible.create_org()
        created = (await worksible("keys", "create", "--org", company["id"])).json()
        assert created["scopes"] == ["*"]
        patch = await client.patch(
            "/v1/companies/me", json={"name": "Renamed"}, headers=bearer(created["key"])
        )
        assert patch.status_code == 200

    @pytest.mark.parametrize("plan", ["trial", "core"])
    async def test_ineligible_plan_fails(self, app: FastAPI, worksible: Cli, plan: str) -> None:
        company = await worksible.create_org(plan)
        line = (await worksible("keys", "create", "--org", company["id"])).assert_failed()
        assert "plan_not_eligible" in line
        async with app.state.sessionmaker() as session:
            statement = select(func.count()).where(ApiKey.organization_id == UUID(company["id"]))
            assert (await session.execute(statement)).scalar_one() == 0

    @pytest.mark.parametrize(
        "args",
        [
            pytest.param(["--scopes", "nope:read"], id="unknown_scope"),
            pytest.param(["--ip", "not-a-cidr"], id="bad_cidr"),
            pytest.param(["--ip", "10.0.0.0/8"], id="allowlist_needs_enterprise"),
            pytest.param(["--expires-in-days", "731"], id="lifetime_over_2_years"),
        ],
    )
    async def test_bad_options_fail(self, worksible: Cli, args: list[str]) -> None:
        company = await worksible.create_org()
        (await worksible("keys", "create", "--org", company["id"], *args)).assert_failed()

    async def test_ip_allowlist_on_enterprise(self, worksible: Cli) -> None:
        company = await worksible.create_org("enterprise")
        created = (
            await worksible("keys", "create", "--org", company["id"], "--ip", "10.1.2.3/8")
        ).json()
        assert created["ip_allowlist"] == ["10.0.0.0/8"]


class TestOrgsSetPlan:
    async def test_downgrade_blocks_existing_keys_and_upgrade_restores_them(
        self, client: httpx.AsyncClient, worksible: Cli
    ) -> None:
        company = await worksible.create_org()
        key = (
            await worksible("keys", "create", "--org", company["id"], "--scopes", "company:read")
        ).json()["key"]
        # Used once first, so the running service has the key (and its plan) cached.
        first = await client.get("/v1/companies/me", headers=bearer(key))
        assert first.status_code == 200
        assert first.json()["plan"] == "professional"

        downgraded = (await worksible("orgs", "set-plan", company["id"], "core")).json()
        assert downgraded["id"] == company["id"]
        assert downgraded["plan"] == "core"
        blocked = await client.get("/v1/companies/me", headers=bearer(key))
        assert_problem(blocked, 403, "plan_not_eligible")

        upgraded = (await worksible("orgs", "set-plan", company["id"], "global")).json()
        assert upgraded["plan"] == "global"
        again = await client.get("/v1/companies/me", headers=bearer(key))
        assert again.status_code == 200
        assert again.json()["plan"] == "global"


class TestUsersCreate:
    async def test_prints_the_user_and_an_invitation_that_works(
        self, app: FastAPI, worksible: Cli
    ) -> None:
        company = await worksible.create_org()
        email = f"{uuid4().hex[:10]}@example.com"
        run = await worksible(
            "users", "create", "--org", company["id"], "--email", email,
            "--name", "Ada Lovelace", "--role", "owner",
        )  # fmt: skip
        user = run.json()
        assert (user["object"], user["email"], user["role"], user["status"]) == (
            "user",
            email,
            "owner",
            "invited",
        )
        path = httpx.URL(user["invite_url"]).path
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            assert (await http.get(path)).status_code == 200

    async def test_a_bad_role_fails(self, worksible: Cli) -> None:
        company = await worksible.create_org()
        run = await worksible(
            "users", "create", "--org", company["id"], "--email", "x@example.com",
            "--name", "X", "--role", "superuser",
        )  # fmt: skip
        run.assert_failed()


class TestNoticesRun:
    async def test_records_what_is_due_and_mails_it_once(self, worksible: Cli) -> None:
        contact = f"{uuid4().hex[:10]}@billing.example"
        company = await worksible.create_org()
        created = await worksible(
            "keys", "create", "--org", company["id"], "--billing-contact", contact,
        )  # fmt: skip
        assert created.json()["billing_contact"] == contact
        first = (await worksible("notices", "run")).json()
        again = (await worksible("notices", "run")).json()
        assert first["recorded"] >= 1
        assert again["recorded"] == 0
        outbox = Path(worksible.env["WORKSIBLE_DATA_DIR"]) / "outbox"
        written = [p for p in outbox.glob("*.eml") if contact in p.read_text()]
        assert len(written) == 1


class TestFailures:
    @pytest.mark.parametrize(
        "args",
        [
            pytest.param(["orgs", "set-plan", str(uuid4()), "core"], id="set_plan_unknown_org"),
            pytest.param(["orgs", "set-plan", "not-an-id", "core"], id="set_plan_malformed_id"),
            pytest.param(["orgs", "set-plan", str(uuid4()), "gold"], id="set_plan_bad_plan"),
            pytest.param(["keys", "create", "--org", str(uuid4())], id="keys_unknown_org"),
            pytest.param(["keys", "create", "--org", "not-an-id"], id="keys_malformed_org"),
            pytest.param(["orgs", "create", "--plan", "core"], id="orgs_create_no_name"),
            pytest.param(["orgs", "create", "--name", "X"], id="orgs_create_no_plan"),
            pytest.param(["orgs", "set-plan", str(uuid4())], id="set_plan_no_plan"),
            pytest.param(["keys", "create"], id="keys_create_no_org"),
            pytest.param(["nope"], id="unknown_command"),
        ],
    )
    async def test_one_line_on_stderr_nothing_on_stdout(
        self, worksible: Cli, args: list[str]
    ) -> None:
        assert (await worksible(*args)).assert_failed().startswith("error: ")

    async def test_unknown_org_names_it(self, worksible: Cli) -> None:
        missing = str(uuid4())
        line = (await worksible("orgs", "set-plan", missing, "core")).assert_failed()
        assert missing in line
        assert "not_found" in line

    async def test_unreachable_database_fails_in_one_line(
        self, cli_env: dict[str, str], tmp_path: Path
    ) -> None:
        # Port 1 refuses connections: the CLI must still answer with one line, not a traceback.
        env = {**cli_env, "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/nope"}
        run = await Cli(env, tmp_path)("orgs", "create", "--name", "X", "--plan", "core")
        run.assert_failed()
