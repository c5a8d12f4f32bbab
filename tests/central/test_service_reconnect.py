"""The broker goes away while the service runs: the service keeps running,
treats the loss as its own blindness, reconnects when the broker returns, and
then handles outages again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from central.store import AuditEntry
from protocol import TopicKind, gateway_topic
from tests.central.harness import (
    TENANT,
    TickingClock,
    config_of,
    event,
    make_config,
    running,
    seed_registry,
)
from tests.central.servers import SmsSink, SmtpSink, wait_for

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def test_service_rides_out_a_broker_restart(
    broker_factory: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    broker = broker_factory(gateways=["gw-a"])
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    seed_registry(db_url, ["gw-a"])
    data = make_config(broker, db_url, smtp.port, sms.url, tmp_path)
    data["broker"].update(reconnect_min_s=0.2, reconnect_max_s=1.0)
    with running(config_of(data), TickingClock(TUESDAY_10)) as central:
        link = central.links[TENANT]
        broker.stop()
        wait_for(lambda: not link.connected, what="the link to notice the loss")
        # Our blindness reaches people while the broker is still down: only the
        # incident's retained summary (the mqtt channel) waits for the broker.
        wait_for(
            lambda: any("övervakningen nere" in s for s in smtp.subjects()) and bool(sms.posts),
            what="the infrastructure incident's e-mail and SMS during the outage",
        )
        broker.start()
        wait_for(lambda: link.connected, 20, "the link to reconnect")

        def noted(action: str) -> bool:
            with central.store.session() as s:
                rows = s.scalars(select(AuditEntry).where(AuditEntry.kind == "link")).all()
                return any(r.detail.get("action") == action for r in rows)

        wait_for(lambda: noted("broker_lost") and noted("broker_restored"), what="both noted")
        gw = broker.client("gw-a")
        try:
            gw.publish(
                gateway_topic(TENANT, "gw-a", TopicKind.EVENTS),
                event("restart_exhausted", TUESDAY_10, 1),
            )
            wait_for(
                lambda: any("Kontakta hemtjänstgruppen" in s for s in smtp.subjects()),
                15,
                "the outage's e-mail after the reconnect",
            )
        finally:
            gw.close()
