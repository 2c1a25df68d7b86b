from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = IPv4Network | IPv6Network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # None means "start the embedded servers under worksible_data_dir".
    database_url: str | None = None
    redis_url: str | None = None
    worksible_data_dir: Path = Path(".worksible")
    # Prefix of every Redis key, so several deployments or test runs can share one server.
    redis_key_prefix: str = "wsk:"

    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)

    # Override the per-plan rate limits when set.
    rate_limit_key_per_second: float | None = None
    rate_limit_key_burst: int | None = None
    rate_limit_ip_per_second: float | None = None
    rate_limit_ip_burst: int | None = None

    # Where clients and browsers reach the service: invitation links, the changelog link of a
    # deprecated operation, and the Secure flag of the dashboard's cookie (when https).
    public_base_url: str = "http://127.0.0.1:8000"

    # Outgoing mail (API.md §15): without SMTP_URL, messages are written under the data
    # folder's outbox/ instead (development).
    smtp_url: SecretStr | None = None
    mail_from: str = "Worksible <notices@worksible.com>"
    # Whether this process runs durable jobs (mail, webhooks): off for an instance that should
    # only answer requests. Jobs wait in PostgreSQL for a process that runs them.
    jobs_enabled: bool = True
    # How often each instance looks for notices that have fallen due.
    notices_interval_seconds: float = 3600.0
    # The first delay before a failed email is tried again; then 2, 4 and 10 times it.
    mail_retry_seconds: float = 30.0

    # Hosts webhook endpoints may use although they are not public, over plain http too
    # (API.md §16): for tests and development only, e.g. "127.0.0.1,localhost".
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A delivery attempt that gets no answer within this has failed (API.md §16: 10 s).
    webhook_timeout_seconds: float = 10.0
    # Multiplies §16's retry delays (5 s … 10 h); below 1 only to test retries quickly.
    webhook_retry_scale: float = 1.0

    log_level: str = "INFO"
    # FastAPI's native OpenTelemetry instrumentation. Off unless asked for: even with no
    # provider configured it looks the providers up on every request.
    opentelemetry: bool = False
    request_log_retention_days: int = 30

    # Faults answer fast (API.md §12): a request never waits on PostgreSQL longer than this.
    # No overflow: SQLAlchemy closes overflow connections on return, so a busy worker would
    # reconnect constantly. The same ceiling as a fixed pool keeps them open.
    db_pool_size: int = 20
    db_max_overflow: int = 0
    # Every request answers within this, 503 if the database would hold it longer.
    request_deadline_seconds: float = 1.7
    db_pool_timeout_seconds: float = 1.2
    db_connect_timeout_seconds: float = 1.2
    db_statement_timeout_seconds: float = 1.4
    redis_timeout_seconds: float = 0.5

    # How long a verified key stays in the Redis key cache before its row is read again. It
    # bounds how long a revoked, rotated, narrowed or downgraded key can still pass (API.md
    # §12: 5 seconds), whether or not the change could reach Redis.
    api_key_cache_seconds: float = Field(default=4.0, gt=0, le=5)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [
                ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
            ]
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()


def async_database_url(url: str) -> str:
    """Accepts the common spellings of a PostgreSQL URL and selects the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url
