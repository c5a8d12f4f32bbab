"""The ``[web]`` section of the central configuration (docs/web.md).

Kept apart from FastAPI so that reading the configuration never imports the
web stack. Secrets may be inline or, better, ``*_file`` paths (read as the
rest of the configuration reads them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class WebConfig(BaseModel):
    """The dashboard and API: where it listens, its cookie and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    """0 picks a free port (tests)."""
    cookie_secure: Literal["auto", "always"] = "auto"
    """``auto``: the session cookie is ``Secure`` when the request came over https
    (directly or through a proxy listed in ``forwarded_allow_ips``)."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-Proto/For headers are believed (uvicorn's setting)."""
    session_hours: Annotated[float, Field(gt=0, le=24 * 7)] = 12.0
    secret: str | None = None
    """Signs the session cookie; default: the ``[links]`` secret (same trust)."""
    secret_file: Path | None = None
    metrics_token: str | None = None
    metrics_token_file: Path | None = None
    login_failures_per_user: Annotated[int, Field(ge=1)] = 5
    login_failures_per_address: Annotated[int, Field(ge=1)] = 20
    login_window_s: Annotated[float, Field(gt=0)] = 900.0
    live_poll_s: Annotated[float, Field(gt=0)] = 1.0
    """How often the live-update loop looks for changes in the store."""
    demo_inbox: Path | None = None
    """Demo only: the JSON-lines file of messages the demo's sinks received
    (``driftvakt-sim demo`` sets it); shown on ``/demo/inbox``."""

    @model_validator(mode="after")
    def _token(self) -> WebConfig:
        # Late import: central.config imports this module for its [web] section.
        from central.config import _secret as _read_secret

        token = _read_secret(self.metrics_token, self.metrics_token_file, "metrics_token")
        if token is not None and len(token) < 16:
            raise ValueError(
                "metrics_token must be at least 16 characters (`openssl rand -hex 16`)"
            )
        object.__setattr__(self, "metrics_token", token)
        secret = _read_secret(self.secret, self.secret_file, "secret")
        if secret is not None and len(secret) < 16:
            raise ValueError("secret must be at least 16 characters (e.g. `openssl rand -hex 32`)")
        object.__setattr__(self, "secret", secret)
        return self
