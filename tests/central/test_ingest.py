"""Ingest on its own: a batch's older state snapshots are skipped unparsed when a
newer valid one of the same gateway follows; events and bad payloads never are."""

from __future__ import annotations

from datetime import UTC, datetime

from central.ingest import Ingest, Item, Parsed
from central.mqtt_link import Arrived, Inbound, Inbox, LinkChanged
from protocol import StateSnapshot, TopicKind, gateway_topic
from tests.central.harness import TENANT, event, snapshot

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def _state(gateway: str) -> str:
    return gateway_topic(TENANT, gateway, TopicKind.STATE)


def _seq(item: Item) -> tuple[str, int] | str:
    if isinstance(item, LinkChanged):
        return "link"
    body = item.message.body
    return (
        (item.message.topic.gateway or "", body.seq) if isinstance(body, StateSnapshot) else "event"
    )


def test_ingest_skips_superseded_snapshots_keeps_events_and_order() -> None:
    applied: list[Item] = []
    ingest = Ingest(Inbox(), applied.extend, lambda: TUESDAY_10)
    events = gateway_topic(TENANT, "gw-01", TopicKind.EVENTS)
    raw: list[Inbound] = [
        Arrived(_state("gw-01"), snapshot("up", TUESDAY_10, 1)),
        Arrived(events, event("device_down", TUESDAY_10, 2)),
        LinkChanged(TENANT, False, TUESDAY_10),
        Arrived(_state("gw-01"), snapshot("down", TUESDAY_10, 3)),
        Arrived(_state("gw-02"), snapshot("up", TUESDAY_10, 1)),
        Arrived(_state("gw-02"), b"{not json"),  # the newest of gw-02 is bad: the older one counts
        Arrived(events, event("device_up", TUESDAY_10, 4)),
    ]
    ingest.process(raw)
    assert [_seq(i) for i in applied] == ["event", "link", ("gw-01", 3), ("gw-02", 1), "event"]
    assert all(i.at == TUESDAY_10 for i in applied if isinstance(i, Parsed))
    c = ingest.counters
    assert (c.received, c.superseded, dict(c.rejected)) == (6, 1, {"bad_json": 1})
    assert dict(c.accepted) == {"state": 2, "events": 2}


def test_ingest_inbox_hands_over_in_order_and_waits_when_empty() -> None:
    inbox = Inbox()
    assert inbox.take(10, timeout=0.01) == []
    items = [Arrived(_state("gw-01"), str(i).encode()) for i in range(5)]
    for item in items:
        inbox.put(item)
    assert inbox.take(3, timeout=0) == items[:3]
    assert inbox.take(10, timeout=0) == items[3:]
