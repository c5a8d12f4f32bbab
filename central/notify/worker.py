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
    """Drains the outbox through ``channels`` (by channel name).

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
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def kick(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.drain_once()
            except Exception:  # the database may be away; keep the worker alive
                log.exception("outbox: scan failed, retrying in %.1f s", self._poll_s)
                busy = 0
            if not busy:
                self._wake.wait(self._poll_s)
                self._wake.clear()

    def drain_once(self, limit: int = 20) -> int:
        """Send one batch of due rows; returns how many were attempted."""
        with self._store.session() as session:
            rows = [_outgoing(r) for r in outbox.claim(session, self._clock(), limit)]
        for row_id, channel, message in rows:
            self._deliver(row_id, channel, message)
        return len(rows)

    def _deliver(self, row_id: int, channel: str, message: Outgoing) -> None:
        sender = self._channels.get(channel)
        error, permanent = "", False
        try:
            if sender is None:
                raise DeliveryError(f"channel {channel!r} is not configured", permanent=True)
            sender.send(message)
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
        if error:
            self.failed += 1
            log.warning("outbox: %s to %s %s: %s", channel, message.recipient, status, error)
        else:
            self.sent += 1


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
