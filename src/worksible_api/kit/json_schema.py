"""Types that are one named schema of the OpenAPI document, not inlined at every field."""

from typing import Any, Final

from pydantic import WithJsonSchema

# A type's schema carrying this key is the named component: the document refers to it by that
# name wherever a field has the type (openapi.py), rather than inlining it. Pydantic cannot
# emit a `$ref` for a plain annotated `str` or `dict` itself.
NAMED_SCHEMA_KEY: Final = "x-schema-name"

# Every named schema, by name, as the document shows it.
NAMED_SCHEMAS: dict[str, dict[str, Any]] = {}


def named_schema(name: str, schema: dict[str, Any]) -> WithJsonSchema:
    """The annotation that makes a type the document's schema `name` (with a `description`,
    which a field may override)."""
    NAMED_SCHEMAS[name] = {"title": name, **schema}
    return WithJsonSchema({**schema, NAMED_SCHEMA_KEY: name})
