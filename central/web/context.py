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
from central.web.settings import WebConfig


@dataclass
class WebContext:
    """The dashboard's collaborators; ``now`` and ``monotonic`` are the clocks."""

    service: Any
    store: Store
    accounts: Accounts
    settings: WebConfig
    limiter: AttemptLimiter
    signer: Signer
    templates: Jinja2Templates
    live: Live
    now: Callable[[], datetime]
    monotonic: Callable[[], float]
