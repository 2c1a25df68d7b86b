from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
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

    # How long a verified key stays in the Redis key cache before argon2 runs again.
    api_key_cache_seconds: int = 300

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
