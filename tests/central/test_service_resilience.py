"""Must-show: an SMTP outage delays and never loses; 1,000 hostile payloads on
every subscribed topic leave the service running with every one counted."""

from __future__ import annotations

import json
import queue
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central.ingest import Ingest
from central.mqtt_link import Arrived
from protocol import MAX_PAYLOAD, TopicKind, gateway_topic
from sim.broker import Broker, BrokerClient
from tests.central.harness import (
    TENANT,
    TickingClock,
    config_of,
    event,
    make_config,
    running,
    seed_registry,
    snapshot,
)
from tests.central.servers import SmsSink, SmtpSink, wait_for

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def test_service_smtp_down_delays_never_loses(
    db_url: str, broker: Broker, broker_client: Any, sms: SmsSink, tmp_path: Path
) -> None:
    gateways = ["gw-13", "gw-14"]
    seed_registry(db_url, gateways)
    smtp = SmtpSink()  # its port is reserved but nothing listens yet: the mail server is down
    config = config_of(make_config(broker, db_url, smtp.port, sms.url, tmp_path))
    with running(config, TickingClock(TUESDAY_10)) as central:
        for gateway in gateways:
            gw: BrokerClient = broker_client(gateway)
            gw.publish(
                gateway_topic(TENANT, gateway, TopicKind.EVENTS),
                event("restart_exhausted", TUESDAY_10, 1),
            )
        wait_for(lambda: len(sms.posts) == 2, what="the SMS, which is not down")
        assert central.worker is not None
        wait_for(
            lambda: central.worker is not None and central.worker.failed >= 6,
            what="several failed SMTP attempts",
        )
        assert central.service.metrics()["outbox"].get("failed", 0) == 2
        smtp.start()
        try:
            wait_for(lambda: len(smtp.messages) == 2, 15, "the e-mails after the server returns")
            wait_for(
                lambda: set(central.service.metrics()["outbox"]) == {"sent"}, what="every row sent"
            )
            assert central.service.dead_letters() == []
        finally:
            smtp.stop()
    assert sorted(str(m["To"]) for m in smtp.messages) == ["larmgruppen@botkyrka.example"] * 2
    assert len({str(m["Message-ID"]) for m in smtp.messages}) == 2


def _hostile(kind: TopicKind, i: int) -> bytes:
    """Payloads that must all be rejected on ``kind``'s topic, cycling through the faults."""
    wrong_model = (
        snapshot("up", TUESDAY_10, i)
        if kind is not TopicKind.STATE
        else (event("device_up", TUESDAY_10, i))
    )
    if kind is TopicKind.AVAILABILITY:
        wrong_model = b"maybe"
    choices = [
        b"x" * (MAX_PAYLOAD + 1 + i),  # oversized
        b"{not json" + str(i).encode(),  # invalid JSON
        json.dumps({"v": 2, "id": f"X{i}"}).encode(),  # wrong version
        wrong_model,  # does not fit its topic
        b"\xff\xfe\x00" + bytes([i % 256]),  # not UTF-8
        b"[" * 5000,  # deeply nested
        json.dumps([1, 2, i]).encode(),  # not an object
    ]
    return choices[i % len(choices)]


def test_service_survives_1000_hostile_payloads_per_topic(
    db_url: str, broker: Broker, broker_client: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    gateway = "gw-15"
    seed_registry(db_url, [gateway])
    config = config_of(make_config(broker, db_url, smtp.port, sms.url, tmp_path))
    kinds = [TopicKind.AVAILABILITY, TopicKind.STATE, TopicKind.EVENTS, TopicKind.CMD_RESULT]
    with running(config, TickingClock(TUESDAY_10)) as central:
        assert central.ingest is not None
        counters = central.ingest.counters
        before = sum(counters.rejected.values())
        gw: BrokerClient = broker_client(gateway)
        for kind in kinds:
            topic = gateway_topic(TENANT, gateway, kind)
            for i in range(1000):
                gw.publish(topic, _hostile(kind, i))
        wait_for(lambda: sum(counters.rejected.values()) - before >= 4000, 60, "all 4,000")
        assert sum(counters.rejected.values()) - before == 4000
        assert set(counters.rejected) >= {
            "too_large",
            "bad_json",
            "bad_version",
            "bad_payload",
            "bad_encoding",
        }
        # Still running and still deciding: a real outage after the flood is handled.
        gw.publish(
            gateway_topic(TENANT, gateway, TopicKind.EVENTS),
            event("restart_exhausted", TUESDAY_10, 5000),
        )
        wait_for(lambda: len(smtp.messages) == 1, what="the e-mail of a real outage")
        assert central.ingest is not None


def test_ingest_counts_topics_outside_the_contract_and_logs_once(caplog: Any) -> None:
    applied: list[object] = []
    ingest = Ingest(queue.Queue(), applied.extend)
    at = TUESDAY_10
    bad = [
        "driftvakt/v1/botkyrka/gw-1/events/extra",
        "driftvakt/v2/botkyrka/gw-1/state",
        "driftvakt/v1/Botkyrka/gw-1/state",
        "other/topic",
        "driftvakt/v1/botkyrka/GW/state",
    ]
    raw = [Arrived(t, b"{}", at) for t in bad for _ in range(200)]
    with caplog.at_level("WARNING"):
        ingest.process(list(raw))
    assert ingest.counters.rejected == Counter({"bad_topic": 1000})
    assert applied == []
    assert len([r for r in caplog.records if "bad_topic" in r.getMessage()]) == 1
