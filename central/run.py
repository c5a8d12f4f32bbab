"""``driftvakt-central run``: ingest, engine, timers and the outbox worker in one process.

Start-up fails fast with a clear message when the database or the broker
cannot be reached; later outages are ridden out (paho reconnects with
back-off, database errors are logged and retried on the next round). SIGTERM
and SIGINT stop it cleanly: ingest drains, the fleet state is written, the
retained ``offline`` is published and the connections close.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime

import paho.mqtt.client as mqtt

from central.config import CentralConfig
from central.errors import BrokerError, StoreError
from central.ingest import Ingest
from central.mqtt_link import Inbound, MqttLink
from central.notify import Channel, ElksSms, EmailChannel, MqttChannel, SmsChannel, WebhookChannel
from central.notify.worker import OutboxWorker
from central.service import Service, utcnow
from central.store import Store, outbox
from central.web.server import WebServer, WebServerError
from central.web.server import for_central as web_for_central

log = logging.getLogger("driftvakt.central")

FLEET_FLUSH_S = 5.0


def setup_logging(level: int = logging.INFO) -> None:
    """Log to journald when systemd started us (``JOURNAL_STREAM``), else to stderr."""
    handler: logging.Handler
    try:
        if not os.environ.get("JOURNAL_STREAM"):
            raise ImportError
        from systemd.journal import JournalHandler

        handler = JournalHandler(SYSLOG_IDENTIFIER="driftvakt-central")
    except ImportError:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Central:
    """The running service: build with :meth:`start`, stop with :meth:`close`.

    :param CentralConfig config: the validated configuration.
    :param clock: the live clock; tests may inject one.
    :raises StoreError: the database cannot be reached (from :meth:`start`).
    :raises BrokerError: the broker cannot be reached or refused us (from :meth:`start`).
    """

    def __init__(self, config: CentralConfig, clock: Callable[[], datetime] = utcnow) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(config.database.url)
        self.inbox: queue.Queue[Inbound] = queue.Queue()
        self.links: dict[str, MqttLink] = {}
        self._service: Service | None = None
        self.worker: OutboxWorker | None = None
        self.ingest: Ingest | None = None
        self.web: WebServer | None = None
        self._stopping = threading.Event()

    def start(self) -> Central:
        self.store.upgrade()
        service = self._service = Service(self.config, self.store, self.clock)
        self.links = {
            t: MqttLink(self.config.broker, t, self.inbox, self.clock) for t in self.config.tenants
        }
        for link in self.links.values():
            link.start()
        service.publish = self._publish
        timing = self.config.timing
        backoff = outbox.Backoff(timing.retry_base_s, timing.retry_max_s, timing.max_attempts)
        self.worker = OutboxWorker(
            self.store, self._channels(), backoff, self.clock, timing.outbox_poll_s
        )
        service.on_outbox = self.worker.kick
        self.worker.start()
        self.ingest = Ingest(self.inbox, service.apply)
        self.ingest.start()
        if self.config.web.enabled:
            self.web = web_for_central(self).start()
            log.info("dashboard on http://%s:%d", self.config.web.host, self.web.port)
        log.info("driftvakt-central running for %s", ", ".join(self.config.tenants))
        return self

    @property
    def service(self) -> Service:
        if self._service is None:
            raise RuntimeError("the service is not started")
        return self._service

    def _publish(self, tenant: str, topic: str, payload: bytes) -> bool:
        return self.links[tenant].publish(topic, payload).rc == mqtt.MQTT_ERR_SUCCESS

    def _publish_retained(self, tenant: str, topic: str, payload: bytes) -> bool:
        return self.links[tenant].publish_confirmed(topic, payload, retain=True)

    def _channels(self) -> dict[str, Channel]:
        c = self.config
        channels: dict[str, Channel] = {"mqtt": MqttChannel(self._publish_retained)}
        if c.smtp is not None:
            channels["email"] = EmailChannel(c.smtp)
        if c.sms is not None:
            channels["sms"] = SmsChannel(ElksSms(c.sms))
        if c.webhook is not None:
            channels["webhook"] = WebhookChannel(c.webhook)
        return channels

    def run_until_stopped(self) -> None:
        """The timer loop: fire due timers (catching up first), tick liveness, flush the fleet."""
        timing = self.config.timing
        last_tick = last_flush = 0.0
        while not self._stopping.is_set():
            mono = time.monotonic()
            try:
                self.service.fire_due()
                if mono - last_tick >= timing.liveness_poll_s:
                    self.service.tick()
                    last_tick = mono
                if mono - last_flush >= FLEET_FLUSH_S:
                    self.service.flush_fleet()
                    last_flush = mono
            except Exception:
                log.exception("timer loop: round failed; retrying in %.1f s", timing.timer_poll_s)
            self._stopping.wait(self._sleep(timing.timer_poll_s))

    def _sleep(self, poll_s: float) -> float:
        """Until the next timer is due, at most ``poll_s``."""
        try:
            due = self.service.next_timer()
        except Exception:
            return poll_s
        if due is None:
            return poll_s
        return max(0.0, min(poll_s, (due - self.clock()).total_seconds()))

    def stop(self) -> None:
        """Ask :meth:`run_until_stopped` to return (signal-safe)."""
        self._stopping.set()

    def close(self) -> None:
        """Stop everything in order; safe to call again."""
        self._stopping.set()
        if self.web is not None:
            self.web.close()
            self.web = None
        if self._service is not None:
            self._service.stopping.set()
        if self.ingest is not None:
            self.ingest.close()
            self.ingest = None
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        if self._service is not None:
            try:
                self._service.flush_fleet()
            except Exception:
                log.exception("could not write the fleet state at shutdown")
        for link in self.links.values():
            link.close()
        self.links = {}
        self.store.close()


def run_service(config: CentralConfig, clock: Callable[[], datetime] = utcnow) -> int:
    """Run until SIGTERM or SIGINT; the exit status for the CLI.

    :param clock: the live clock; the demo passes its faster simulated one.
    :returns: 0 after a clean stop, 3 when the database or broker is unreachable at start.
    """
    central = Central(config, clock)
    signal.signal(signal.SIGTERM, lambda *_: central.stop())
    signal.signal(signal.SIGINT, lambda *_: central.stop())
    try:
        central.start()
    except (StoreError, BrokerError, WebServerError) as exc:
        print(f"driftvakt-central: {exc}", file=sys.stderr)
        central.close()
        return 3
    try:
        central.run_until_stopped()
    finally:
        central.close()
        log.info("driftvakt-central stopped")
    return 0
