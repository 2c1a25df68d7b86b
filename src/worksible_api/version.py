"""The API's version, as the OpenAPI document and the app state it."""

API_VERSION = "1.5.0"
