"""The changelog served three ways (API.md §15): HTML, Atom and JSON, none needing a key."""

from datetime import UTC, datetime, time

from fastapi import APIRouter, Request, Response
from feedgen.feed import FeedGenerator
from pydantic import Field

from worksible_api.domains.changelog.entries import ChangeKind, changelog
from worksible_api.kit.fields import ResponseModel
from worksible_api.pipeline import ApiRoute
from worksible_api.templating import templates

pages = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/changelog", tags=["Changelog"], route_class=ApiRoute)


class ChangeOut(ResponseModel):
    type: ChangeKind
    text: str = Field(description="Markdown.")


class ReleaseOut(ResponseModel):
    version: str
    date: str = Field(description="`YYYY-MM-DD`.")
    changes: list[ChangeOut]


class ChangelogOut(ResponseModel):
    results: list[ReleaseOut]


@pages.get("/changelog")
async def changelog_page(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "changelog.html", {"changelog_html": changelog().html}
    )


@pages.get("/changelog.atom")
async def changelog_feed(request: Request) -> Response:
    base = request.app.state.settings.public_base_url.rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{base}/changelog")
    feed.title("Worksible API changelog")
    feed.link(href=f"{base}/changelog", rel="alternate")
    feed.link(href=f"{base}/changelog.atom", rel="self")
    feed.language("en")
    log = changelog()
    for release in reversed(log.releases):  # feedgen lists entries newest first when added last
        entry = feed.add_entry()
        entry.id(f"{base}/changelog#{release.anchor}")
        entry.title(f"v{release.version}")
        entry.link(href=f"{base}/changelog#{release.anchor}")
        released = datetime.combine(release.date, time(), UTC)
        entry.published(released)
        entry.updated(released)
        entry.content(log.release_html(release), type="html")
    if log.releases:
        feed.updated(datetime.combine(log.releases[0].date, time(), UTC))
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml")


@router.get(
    "",
    response_model=ChangelogOut,
    summary="The changelog",
    description="Every release of the API, newest first, with its changes. No key needed; the "
    "same at `/changelog` (HTML) and `/changelog.atom` (Atom).",
)
async def changelog_json() -> ChangelogOut:
    return ChangelogOut(
        results=[
            ReleaseOut(
                version=release.version,
                date=release.date.isoformat(),
                changes=[ChangeOut(type=c.type, text=c.text) for c in release.changes],
            )
            for release in changelog().releases
        ]
    )
