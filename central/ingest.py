"""Ingest: turns what the MQTT link enqueued into parsed messages for the service.

One worker thread drains the link's queue in batches, parses each message
with :func:`protocol.parse`, counts and logs rejects (once per gateway and
reason, never a flood), drops state snapshots that are older than one
already applied (``boot``/``seq``), and hands the rest to the service in
arrival order. Nothing here touches the database; deduplication of events by
id happens in the service, in the same transaction as their effects.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from central.mqtt_link import Inbound, LinkChanged
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

    def snapshot(self) -> dict[str, object]:
        return {
            "received": self.received,
            "accepted": dict(self.accepted),
            "rejected": dict(self.rejected),
            "stale_states": self.stale_states,
        }


class Ingest:
    """Parses, counts and filters; ``apply`` receives each batch of valid items.

    :param inbox: the queue the MQTT links fill.
    :param apply: called on the ingest thread with a batch, in arrival order.
    :param int batch: most items handed over at once.
    """

    def __init__(
        self,
        inbox: queue.Queue[Inbound],
        apply: Callable[[list[Item]], None],
        batch: int = 500,
    ) -> None:
        self._inbox = inbox
        self._apply = apply
        self._batch = batch
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
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                self.idle.set()
                continue
            self.idle.clear()
            raw = [first]
            while len(raw) < self._batch:
                try:
                    raw.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            self.process(raw)

    def process(self, raw: list[Inbound]) -> None:
        """Parse and filter one batch, then apply it (also used directly by tests)."""
        items = [item for item in map(self._classify, raw) if item is not None]
        if items:
            self._apply(items)

    def _classify(self, item: Inbound) -> Item | None:
        if isinstance(item, LinkChanged):
            return item
        self.counters.received += 1
        result = parse(item.topic, item.payload)
        if isinstance(result, Rejected):
            self._reject(result)
            return None
        kind = result.topic.kind
        if kind is TopicKind.STATE and not self._newer(result):
            self.counters.stale_states += 1
            return None
        self.counters.accepted[kind.value] += 1
        return Parsed(result, item.at)

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
