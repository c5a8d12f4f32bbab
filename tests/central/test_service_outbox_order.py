"""A channel outage delays only that channel and never reorders one person's
messages of an incident: an "opened" SMS whose retry is scheduled late still
goes out before the incident's "restored" SMS, and the e-mails, whose server
is up, are not held back by the SMS outage. Real broker, SMTP, SMS server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from central.run import Central
from central.store import OutboxMessage, Timer
from protocol import TopicKind, gateway_topic
from sim.broker import Broker, BrokerClient
from tests.central.harness import (
    LARM_PHONE,
    TENANT,
    FakeClock,
    config_of,
    event,
    make_config,
    running,
    seed_registry,
    snapshot,
)
from tests.central.servers import SmsSink, SmtpSink, wait_for

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def _attempts(central: Central, channel: str) -> list[tuple[str, int]]:
    with central.store.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == channel))
        return [(r.subject, r.attempts) for r in rows]


def _settle_timer(central: Central) -> bool:
    with central.store.session() as s:
        return any(t.payload["purpose"] == "settle" for t in s.scalars(select(Timer)))


def test_outbox_sms_outage_keeps_per_recipient_order_and_spares_email(
    db_url: str, broker: Broker, broker_client: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    gateway = "gw-19"
    seed_registry(db_url, [gateway])
    clock = FakeClock(TUESDAY_10)
    data = make_config(broker, db_url, smtp.port, sms.url, tmp_path)
    data["timing"].update(retry_base_s=3600, retry_max_s=3600)  # only the test's clock retries
    gw: BrokerClient = broker_client(gateway)
    state = gateway_topic(TENANT, gateway, TopicKind.STATE)
    events = gateway_topic(TENANT, gateway, TopicKind.EVENTS)
    sms.status = 503  # the SMS provider is down
    with running(config_of(data), clock) as central:
        gw.publish(state, snapshot("failed", TUESDAY_10, 1), retain=True)
        gw.publish(events, event("restart_exhausted", TUESDAY_10, 2))
        wait_for(lambda: len(smtp.messages) == 1, what="the e-mail, whose server is up")
        wait_for(lambda: len(sms.posts) == 1, what="the first, failed SMS attempt")

        # The camera recovers; the incident closes while the "opened" SMS waits for its retry.
        clock.advance(seconds=5)
        gw.publish(state, snapshot("up", clock(), 3), retain=True)
        gw.publish(events, event("device_up", clock(), 4))
        wait_for(lambda: _settle_timer(central), what="the settle timer")
        sms.status = 200  # the provider is back before the "opened" SMS's retry is due
        clock.advance(minutes=11)
        wait_for(lambda: len(smtp.messages) == 2, what="the status_report e-mail")
        assert all(n == 1 for _, n in _attempts(central, "email"))
        assert len(_attempts(central, "sms")) == 2

        clock.advance(minutes=60)  # the "opened" SMS's retry falls due
        wait_for(lambda: len(sms.delivered()) == 2, what="both SMS, in order")
    texts = [(p["to"], p["message"]) for p in sms.delivered()]
    assert [to for to, _ in texts] == [LARM_PHONE, LARM_PHONE]
    assert "Kontakta hemtjänstgruppen" in texts[0][1] and "Lägesrapport" in texts[1][1]
    gw.publish(state, b"", retain=True)  # leave no retained state for other tests
