"""The Jinja2 environment of the service's HTML pages (the dashboard, the changelog)."""

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from worksible_api.kit.time import rfc3339

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Autoescaped, as Jinja2Templates sets it up for .html files.
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters["rfc3339"] = lambda value: rfc3339(value) if value else ""

# Emails: the .html bodies autoescaped, the .txt ones as written.
mail_templates = Environment(
    loader=FileSystemLoader(TEMPLATES / "mail"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
    # A tag on a line of its own leaves no blank line in the plain text.
    trim_blocks=True,
    lstrip_blocks=True,
)
