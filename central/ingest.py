"""Ingest: turns what the MQTT link enqueued into parsed messages for the service.

One worker thread drains the link's inbox in batches, stamps each batch with
the arrival time, parses each message with :func:`protocol.parse`, counts and
logs rejects (once per gateway and reason, never a flood), drops state
snapshots that are older than one already applied (``boot``/``seq``), and
hands the rest to the service in arrival order. Nothing here touches the
database; deduplication of events by id happens in the service, in the same
transaction as their effects.

A state snapshot is last-value: one followed in the same batch by a newer
valid snapshot on the same topic is counted as ``superseded`` and never
parsed (a burst, such as a reconnect's backlog, costs one parse per gateway).
Events, availability and command results are never skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from central.mqtt_link import Arrived, Inbound, Inbox, LinkChanged
from protocol import Message, Rejected, StateSnapshot, TopicKind, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid message with the time it arrived at central."""

    message: Message
    at: datetime


Item = Parsed | LinkChanged


@dataclass
class IngestCounters:
    """What ingest has seen; read by ``/metrics`` and the tests."""

    received: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    stale_states: int = 0
    superseded: int = 0
    """State snapshots skipped unparsed: a newer valid one of the gateway was in the batch."""

    def snapshot(self) -> dict[str, object]:
        return {
            "received": self.received,
            "accepted": dict(self.accepted),
            "rejected": dict(self.rejected),
            "stale_states": self.stale_states,
            "superseded": self.superseded,
        }


class Ingest:
    """Parses, counts and filters; ``apply`` receives each batch of valid items.

    :param inbox: what the MQTT links fill.
    :param apply: called on the ingest thread with a batch, in arrival order.
    :param clock: the live clock (aware UTC), read once per batch for the arrival time.
    :param int batch: most items handed over at once.
    :param float linger_s: after the first message of a batch, how long to let more
        gather: a burst then costs one pass per batch instead of one per message.
    """

    def __init__(
        self,
        inbox: Inbox,
        apply: Callable[[list[Item]], None],
        clock: Callable[[], datetime],
        batch: int = 2000,
        linger_s: float = 0.005,
    ) -> None:
        self._inbox = inbox
        self._apply = apply
        self._clock = clock
        self._batch = batch
        self._linger_s = linger_s
        self.counters = IngestCounters()
        self._logged: set[tuple[str | None, str]] = set()
        self._order: dict[tuple[str, str], tuple[str, int]] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()
        """Set while the queue is empty and the last batch was applied (tests wait on it)."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            raw = self._inbox.take(self._batch, timeout=0.2)
            if not raw:
                self.idle.set()
                continue
            self.idle.clear()
            if len(raw) < self._batch and self._linger_s > 0:
                self._stopping.wait(self._linger_s)
                raw += self._inbox.take(self._batch - len(raw), timeout=0)
            self.process(raw)

    def process(self, raw: list[Inbound]) -> None:
        """Parse and filter one batch, then apply it (also used directly by tests).

        Walks the batch newest first, so that an older snapshot on a topic whose
        newer one was accepted is skipped before it costs a parse.
        """
        at = self._clock()
        done: set[str] = set()
        items: list[Item] = []
        for item in reversed(raw):
            if isinstance(item, LinkChanged):
                items.append(item)
                continue
            self.counters.received += 1
            if item.topic in done:
                self.counters.superseded += 1
                continue
            parsed = self._classify(item, at)
            if parsed is not None:
                items.append(parsed)
                if parsed.message.topic.kind is TopicKind.STATE:
                    done.add(item.topic)
        if items:
            items.reverse()
            self._apply(items)

    def _classify(self, item: Arrived, at: datetime) -> Parsed | None:
        result = parse(item.topic, item.payload)
        if isinstance(result, Rejected):
            self._reject(result)
            return None
        kind = result.topic.kind
        if kind is TopicKind.STATE and not self._newer(result):
            self.counters.stale_states += 1
            return None
        self.counters.accepted[kind.value] += 1
        return Parsed(result, at)

    def _newer(self, message: Message) -> bool:
        """``False`` for a snapshot older than one already applied within the same boot."""
        body = message.body
        assert isinstance(body, StateSnapshot) and message.topic.gateway is not None
        key = (message.topic.tenant, message.topic.gateway)
        last = self._order.get(key)
        if last is not None and last[0] == body.boot and body.seq < last[1]:
            return False
        self._order[key] = (body.boot, body.seq)
        return True

    def _reject(self, rejected: Rejected) -> None:
        self.counters.rejected[rejected.reason.value] += 1
        key = (rejected.gateway, rejected.reason.value)
        if key in self._logged or len(self._logged) > 10_000:
            return
        self._logged.add(key)
        log.warning(
            "rejected %s from %s: %s (logged once per gateway and reason)",
            rejected.reason.value,
            rejected.gateway or "(no gateway)",
            rejected.detail,
        )
