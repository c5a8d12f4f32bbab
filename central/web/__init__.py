"""The operators' and staff's web dashboard and JSON API (docs/web.md).

``central.web.app.create_app`` builds it; ``central.web.server`` serves it
inside ``driftvakt-central run``. This package file imports nothing, so that
reading the configuration (``central.web.settings``) stays light.
"""
