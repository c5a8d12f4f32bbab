"""Serves the dashboard inside ``driftvakt-central run``: uvicorn on its own thread.

One process, one more component (DESIGN.md): the web thread reads the same
store and calls the same service as the MQTT and timer threads. Uvicorn
installs no signal handlers off the main thread, so SIGTERM stays with the
runner, which calls :meth:`WebServer.close`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi import FastAPI

from central.errors import DriftvaktError
from central.policy import load_policy
from central.web.app import create_app
from central.web.settings import WebConfig

if TYPE_CHECKING:
    from central.run import Central

_START_TIMEOUT_S = 15.0


class WebServerError(DriftvaktError, OSError):
    """The dashboard could not start (the port is taken, the address is wrong...)."""


class WebServer:
    """Uvicorn serving ``app`` on a daemon thread.

    :param FastAPI app: the dashboard.
    :param WebConfig settings: host, port and proxy trust.
    """

    def __init__(self, app: FastAPI, settings: WebConfig) -> None:
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            timeout_graceful_shutdown=3,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self.app = app

    def start(self) -> WebServer:
        """Start serving; returns once the socket listens.

        :raises WebServerError: when uvicorn gave up (e.g. the port is in use).
        """
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WebServerError(
                    "the dashboard could not start; see the log above (is the [web] port free?)"
                )
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        """The port actually bound (useful with ``port = 0``)."""
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    def close(self) -> None:
        """Stop serving (open live streams are ended first); safe to call again."""
        self.app.state.ctx.live.close()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def for_central(central: Central) -> WebServer:
    """The dashboard of a started :class:`central.run.Central`."""
    config = central.config
    service = central.service

    def counters() -> dict[str, Any]:
        ingest = central.ingest
        return ingest.counters.snapshot() if ingest is not None else {}

    def health() -> dict[str, Any]:
        brokers = {tenant: link.connected for tenant, link in central.links.items()}
        return {"running": central.ingest is not None, "broker_connected": brokers}

    secret = config.web.secret or config.links.secret or ""
    app = create_app(
        service,
        central.store,
        config.web,
        secret=secret,
        policy=load_policy(config.policy),
        tenants=list(config.tenants),
        counters=counters,
        health=health,
        now=central.clock,
    )
    return WebServer(app, config.web)
