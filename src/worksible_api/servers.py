"""Which PostgreSQL and Redis to use: the configured ones, else the embedded ones."""

from dataclasses import dataclass

from worksible_api.config import Settings, async_database_url


@dataclass(frozen=True)
class ServerUrls:
    database_url: str
    redis_url: str


def resolve_server_urls(settings: Settings) -> ServerUrls:
    if settings.database_url and settings.redis_url:
        return ServerUrls(async_database_url(settings.database_url), settings.redis_url)
    # Imported here: production always names its servers and never loads the embedded ones.
    from worksible_api.embedded import ensure_embedded_servers

    embedded = ensure_embedded_servers(settings.worksible_data_dir)
    return ServerUrls(
        async_database_url(settings.database_url or embedded.database_url),
        settings.redis_url or embedded.redis_url,
    )
