"""What every route reaches through ``request.app.state.ctx``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.templating import Jinja2Templates
from itsdangerous import Signer

from central.store.db import Store
from central.web.accounts import Accounts
from central.web.limiter import AttemptLimiter
from central.web.live import Live
from central.web.reads import Reader
from central.web.settings import WebConfig


@dataclass
class WebContext:
    """The dashboard's collaborators; ``now`` and ``monotonic`` are the clocks."""

    service: Any
    """The central service (``central.service.Service``): staff actions go through it."""
    store: Store
    reader: Reader
    """Read-only sessions (pages, API reads, the live loop): no write lock on SQLite."""
    policy: Any
    """The active policy (``central.policy.Policy``), for the coverage grid."""
    tenants: list[str]
    counters: Callable[[], dict[str, Any]]
    """Ingest counters: ``received``, ``accepted`` and ``rejected`` by reason."""
    health: Callable[[], dict[str, Any]]
    """The service's own word on its health; ``running`` must be true."""
    accounts: Accounts
    settings: WebConfig
    limiter: AttemptLimiter
    signer: Signer
    templates: Jinja2Templates
    live: Live
    now: Callable[[], datetime]
    monotonic: Callable[[], float]
