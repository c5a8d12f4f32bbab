"""The outbox worker: sends what decisions wrote to the outbox, retrying with
back-off, keeping dead letters, and auditing every attempt.

It runs in its own thread and wakes on :meth:`kick` (a decision committed
new rows) or every ``poll_s`` seconds, whichever comes first. A channel that
is down delays its messages, never loses them (DESIGN.md, "Notifications").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

from central.errors import DeliveryError
from central.notify.channels import Channel, Outgoing
from central.store import OutboxMessage, Store, audit, outbox

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class OutboxWorker:
    """Drains the outbox through ``channels`` (by channel name), one thread per channel,
    so that a mail server that hangs for its timeout does not hold up the SMS.

    :param Store store: the database.
    :param channels: channel name (``email``, ``sms``, ``webhook``, ``mqtt``) to channel.
    :param Backoff backoff: retry schedule and dead-letter limit.
    :param clock: the live clock (injectable for tests).
    :param float poll_s: seconds between scans when nothing kicks it.
    """

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        backoff: outbox.Backoff,
        clock: Clock,
        poll_s: float = 1.0,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._backoff = backoff
        self._clock = clock
        self._poll_s = poll_s
        self._wake = {name: threading.Event() for name in self._channels}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._count = threading.Lock()
        self.sent = 0
        self.failed = 0

    def kick(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        for wake in self._wake.values():
            wake.set()

    def start(self) -> None:
        for name in self._channels:
            thread = threading.Thread(
                target=self._run, args=(name,), name=f"outbox-{name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self._stopping.set()
        self.kick()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _run(self, channel: str) -> None:
        wake = self._wake[channel]
        while not self._stopping.is_set():
            wake.clear()
            try:
                busy = self.drain_once(channel)
            except Exception:  # the database may be away; keep the worker alive
                log.exception("outbox: %s scan failed, retrying in %.1f s", channel, self._poll_s)
                busy = 0
            if not busy:
                wake.wait(self._poll_s)

    def drain_once(self, channel: str | None = None, limit: int = 20) -> int:
        """Send one batch of due rows (of one channel, or all); returns how many were tried."""
        channels = [channel] if channel else list(self._channels)
        with self._store.session() as session:
            rows = [_outgoing(r) for r in outbox.claim(session, self._clock(), limit, channels)]
        for row_id, name, message in rows:
            self._deliver(row_id, name, message)
        return len(rows)

    def _deliver(self, row_id: int, channel: str, message: Outgoing) -> None:
        error, permanent = "", False
        try:
            self._channels[channel].send(message)
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a channel bug must not kill the worker
            error = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        with self._store.session() as session:
            if error:
                status = outbox.mark_failed(session, row_id, now, error, self._backoff, permanent)
            else:
                outbox.mark_sent(session, row_id, now)
                status = "sent"
            audit.record(
                session,
                at=now,
                tenant=message.tenant,
                kind="notification",
                actor="outbox",
                incident_id=message.incident_id,
                detail={
                    "outbox_id": row_id,
                    "channel": channel,
                    "recipient": message.recipient,
                    "key": message.key,
                    "status": status,
                    "error": error,
                },
            )
        with self._count:
            if error:
                self.failed += 1
            else:
                self.sent += 1
        if error:
            log.warning("outbox: %s to %s %s: %s", channel, message.recipient, status, error)


def _outgoing(row: OutboxMessage) -> tuple[int, str, Outgoing]:
    message = Outgoing(
        key=row.idempotency_key,
        tenant=row.tenant,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        incident_id=row.incident_id,
        task_id=row.task_id,
    )
    return row.id, row.channel, message
