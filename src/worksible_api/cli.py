"""The operator commands (API.md §11): JSON on stdout, one line on stderr and exit 1 on failure."""

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from worksible_api.auth.key_cache import KeyCache
from worksible_api.auth.scopes import ALL
from worksible_api.auth.verifier import KeyVerifier
from worksible_api.cache.client import create_redis
from worksible_api.config import Settings, get_settings
from worksible_api.db.session import (
    commit,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from worksible_api.domains.api_keys.schemas import ApiKeyCreate, ApiKeyOut, ApiKeyWithSecret
from worksible_api.domains.api_keys.service import OPERATOR, ApiKeyService
from worksible_api.domains.notices import repository as notice_records
from worksible_api.domains.notices.delivery import mail_queue
from worksible_api.domains.notices.service import plan_notices
from worksible_api.domains.organizations import service as organizations
from worksible_api.domains.organizations.schemas import CompanyOut
from worksible_api.domains.users.schemas import Role, UserCreate, UserWithInvite
from worksible_api.domains.users.service import UserService
from worksible_api.errors import ApiError, NotFound
from worksible_api.jobs import JobRunner
from worksible_api.kit.fields import acting_in
from worksible_api.kit.ids import parse_id
from worksible_api.kit.time import utc_now
from worksible_api.mail import mailer_for, outbox_for
from worksible_api.models import ApiKey, Organization
from worksible_api.models.organization import Plan
from worksible_api.servers import ServerUrls, resolve_server_urls

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Operator:
    sessionmaker: async_sessionmaker[AsyncSession]
    verifier: KeyVerifier


def _servers() -> ServerUrls:
    """Resolves (and if needed starts) the servers, and exports them for worker processes."""
    urls = resolve_server_urls(get_settings())
    os.environ["DATABASE_URL"] = urls.database_url
    os.environ["REDIS_URL"] = urls.redis_url
    get_settings.cache_clear()
    return urls


@asynccontextmanager
async def _operator(settings: Settings, urls: ServerUrls) -> AsyncIterator[Operator]:
    engine = create_engine(settings, urls.database_url)
    redis = create_redis(settings, urls.redis_url)
    sessionmaker = create_sessionmaker(engine)
    verifier = KeyVerifier(
        sessionmaker,
        create_read_sessionmaker(engine),
        KeyCache(redis, settings.redis_key_prefix, settings.api_key_cache_seconds),
    )
    try:
        yield Operator(sessionmaker, verifier)
    finally:
        await verifier.close()
        await redis.aclose()
        await engine.dispose()


def _run(action: Callable[[Operator, AsyncSession], Awaitable[ResultT]]) -> ResultT:
    """Runs `action` in one transaction, committed when it returns."""
    urls = _servers()

    async def main() -> ResultT:
        async with _operator(get_settings(), urls) as operator, operator.sessionmaker() as session:
            result = await action(operator, session)
            await commit(session)
            return result

    return asyncio.run(main())


def _emit(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2))


def _migrations_config(database_url: str) -> Any:
    from alembic.config import Config

    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / "alembic.ini").is_file():
            config = Config(str(root / "alembic.ini"))
            config.set_main_option("script_location", str(root / "migrations"))
            config.attributes["database_url"] = database_url
            return config
    raise click.ClickException("alembic.ini not found next to the package or in the current folder")


def _migrate(database_url: str) -> None:
    from alembic import command

    command.upgrade(_migrations_config(database_url), "head")


async def _organization(session: AsyncSession, raw_id: str) -> Organization:
    organization_id = parse_id(raw_id)
    organization = await session.get(Organization, organization_id) if organization_id else None
    if organization is None:
        raise NotFound(f"No such organization: {raw_id}")
    # The operator acts for this organization: what it prints is of its mode (API.md §17).
    acting_in(livemode=organization.livemode)
    return organization


def _company_json(organization: Organization) -> dict[str, Any]:
    return CompanyOut.model_validate(organization).model_dump(mode="json")


def _key_json(api_key: ApiKey, full_key: str) -> dict[str, Any]:
    out = ApiKeyWithSecret.model_validate(
        {**ApiKeyOut.model_validate(api_key).model_dump(), "key": full_key}
    )
    return out.model_dump(mode="json")


@click.group()
def cli() -> None:
    """Operate the Worksible API."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--no-migrate", is_flag=True, help="Skip running migrations first.")
def serve(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Serve the API (runs migrations first)."""
    import uvicorn

    urls = _servers()
    if not no_migrate:
        _migrate(urls.database_url)
    uvicorn.run(
        "worksible_api.app:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The client IP is resolved in one place, from TRUSTED_PROXIES (auth/client_ip.py).
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=30,
        log_config=None,
        access_log=False,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    urls = _servers()
    _migrate(urls.database_url)
    _emit({"migrated": True})


@cli.group()
def orgs() -> None:
    """Organizations."""


@orgs.command("create")
@click.option("--name", required=True)
@click.option("--plan", required=True, type=click.Choice([plan.value for plan in Plan]))
@click.option("--country", default=None, help="ISO 3166-1 alpha-2, e.g. DE.")
@click.option("--currency", default="EUR", show_default=True, help="ISO 4217, e.g. EUR.")
def orgs_create(name: str, plan: str, country: str | None, currency: str) -> None:
    """Create an organization."""
    from worksible_api.domains.organizations.schemas import CompanyUpdate

    checked = CompanyUpdate(name=name, country=country, default_currency=currency)

    async def action(operator: Operator, session: AsyncSession) -> dict[str, Any]:
        organization = await organizations.create_organization(
            session,
            name=checked.name or name,
            plan=Plan(plan),
            country=checked.country,
            default_currency=checked.default_currency or currency,
        )
        return _company_json(organization)

    _emit(_run(action))


@orgs.command("set-plan")
@click.argument("org_id")
@click.argument("plan", type=click.Choice([plan.value for plan in Plan]))
def orgs_set_plan(org_id: str, plan: str) -> None:
    """Move an organization to another plan; its cached keys see the change at once."""

    async def action(operator: Operator, session: AsyncSession) -> dict[str, Any]:
        organization = await _organization(session, org_id)
        updated = await organizations.set_plan(
            session, organization.id, Plan(plan), operator.verifier
        )
        return _company_json(updated)

    _emit(_run(action))


@cli.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--org", "org_id", required=True)
@click.option("--name", default="API key", show_default=True)
@click.option(
    "--scopes", default=ALL, show_default=True, help="'*' or 'freelancers:read,invoices:write'."
)
@click.option("--expires-in-days", type=click.IntRange(1, 730), default=None)
@click.option("--ip", "ips", multiple=True, help="Allowed CIDR (Enterprise); repeat for more.")
@click.option("--billing-contact", default=None, help="Defaults to the org's billing email.")
@click.option(
    "--test",
    is_flag=True,
    help="A test key (wsk_test_…) of the organization's test twin, made if it has none.",
)
def keys_create(
    org_id: str,
    name: str,
    scopes: str,
    expires_in_days: int | None,
    ips: tuple[str, ...],
    billing_contact: str | None,
    test: bool,
) -> None:
    """Create an API key and print it once."""
    expires_at = utc_now() + timedelta(days=expires_in_days) if expires_in_days else None
    data = ApiKeyCreate(
        name=name,
        scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()],
        expires_at=expires_at,
        ip_allowlist=list(ips),
        billing_contact=billing_contact,
        # Without --test, a key of the organization's own mode.
        livemode=False if test else None,
    )

    async def action(operator: Operator, session: AsyncSession) -> dict[str, Any]:
        organization = await _organization(session, org_id)
        service = ApiKeyService(session, organization.id, operator.verifier, actor=OPERATOR)
        api_key, full_key = await service.create(data)
        return _key_json(api_key, full_key)

    _emit(_run(action))


@cli.group()
def users() -> None:
    """People who sign in to the dashboard."""


@users.command("create")
@click.option("--org", "org_id", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
def users_create(org_id: str, email: str, name: str, role: str) -> None:
    """Invite a user and print them with their one-time invitation URL (valid 7 days)."""
    data = UserCreate(email=email, name=name, role=Role(role))

    async def action(operator: Operator, session: AsyncSession) -> dict[str, Any]:
        organization = await _organization(session, org_id)
        user, token = await UserService(session, organization.id).create(data)
        invited = UserWithInvite.of(user, token, get_settings().public_base_url)
        return invited.model_dump(mode="json")

    _emit(_run(action))


@cli.group()
def notices() -> None:
    """Deprecation and key-expiry notices."""


@notices.command("run")
def notices_run() -> None:
    """Record the notices that are due now and mail them (the service does it hourly too)."""
    urls = _servers()

    async def main() -> dict[str, int]:
        settings = get_settings()
        async with _operator(settings, urls) as operator:
            queue = mail_queue(
                operator.sessionmaker,
                mailer_for(settings),
                outbox_for(settings),
                timedelta(seconds=settings.mail_retry_seconds),
            )
            recorded = await plan_notices(operator.sessionmaker, queue, settings.public_base_url)
            await JobRunner(operator.sessionmaker, [queue]).drain()
            async with operator.sessionmaker() as session:
                waiting = await notice_records.pending_count(session)
        return {"recorded": recorded, "waiting": waiting}

    _emit(asyncio.run(main()))


@cli.command()
def demo() -> None:
    """Create the demo organization (once) with sample data, and print a new key for it."""
    from worksible_api.demo import demo_owner, seed_demo

    async def action(operator: Operator, session: AsyncSession) -> dict[str, Any]:
        organization, created = await seed_demo(session, operator.verifier)
        service = ApiKeyService(session, organization.id, operator.verifier, actor=OPERATOR)
        api_key, full_key = await service.create(ApiKeyCreate(name="Demo key", scopes=[ALL]))
        email, password = await demo_owner(session, organization)
        return {
            "organization": _company_json(organization),
            "created": created,
            "key": _key_json(api_key, full_key),
            "owner": {"email": email, "password": password},
        }

    urls = _servers()
    _migrate(urls.database_url)
    result = _run(action)
    _emit(result)
    dashboard = get_settings().public_base_url.rstrip("/") + "/dashboard/"
    owner = result["owner"]
    click.echo(f"\nDemo organization: {result['organization']['name']}", err=True)
    click.echo(f"Demo API key (shown once): {result['key']['key']}", err=True)
    click.echo(f"Dashboard: {dashboard}", err=True)
    click.echo(f"  sign in as {owner['email']} with the password {owner['password']}\n", err=True)


def _one_line(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
    if isinstance(error, ApiError):
        return f"{error.code}: {error.detail}"
    if isinstance(error, click.ClickException):
        return " ".join(error.format_message().split())
    return " ".join(str(error).split()) or type(error).__name__


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # one line, whatever went wrong
        click.echo(f"error: {_one_line(error)}", err=True)
        sys.exit(1)
