"""The operators' and staff's web dashboard and JSON API (docs/web.md)."""

from central.web.app import PUBLIC_ROUTES, create_app

__all__ = ["PUBLIC_ROUTES", "create_app"]
