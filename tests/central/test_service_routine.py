"""Must-show: a daytime restart_exhausted reaches the alarm group by e-mail and
SMS in Swedish; acknowledging stops the reminders; recovery sends the
status_report. Real broker, real SMTP and SMS servers, SQLite and PostgreSQL."""

import re
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from typing import Any

from sqlalchemy import select

from central.run import Central
from central.store import Incident, Timer
from protocol import TopicKind, gateway_topic, incident_topic
from sim.broker import Broker, BrokerClient
from tests.central.harness import (
    LARM_MAIL,
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

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)  # 10:00 in Stockholm, office hours


def _body(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _all_sent(central: Central) -> bool:
    return set(central.service.metrics()["outbox"]) == {"sent"}


def _purposes(central: Central) -> list[str]:
    with central.store.session() as s:
        return [t.payload["purpose"] for t in s.scalars(select(Timer))]


def _check_alarm(smtp: SmtpSink, sms: SmsSink) -> str:
    """The first e-mail and SMS went to the alarm group in Swedish; returns the reply code."""
    mail, text = smtp.messages[0], sms.posts[0]
    assert mail["To"] == LARM_MAIL and text["to"] == LARM_PHONE
    assert "Kontakta hemtjänstgruppen" in mail["Subject"]
    assert "Gäller gateway gw-11." in _body(mail)
    assert "Kontakta hemtjänstgruppen: finns besök planerat?" in _body(mail)
    assert "Kvittera uppgiften: https://driftvakt.test/ack/" in _body(mail)
    assert text["message"].startswith(
        "Driftvakt: Ny uppgift: Kontakta hemtjänstgruppen (driftstopp, 1 hem)"
    )
    code = re.search(r"Kvittera: svara ([2-9A-Z]{5})$", text["message"])
    assert code is not None, text["message"]
    return code.group(1)


def _check_no_reminder(central: Central, clock: FakeClock, smtp: SmtpSink, sms: SmsSink) -> None:
    """20 minutes pass, past the 15-minute deadline: no reminder goes out."""
    wait_for(lambda: _all_sent(central), what="the outbox to drain")
    clock.advance(minutes=20)
    central.service.fire_due()
    assert central.worker is not None
    central.worker.drain_once()
    assert "ack" not in _purposes(central)
    assert smtp.subjects()[1:] == [] and len(sms.posts) == 1


def _check_status_report(central: Central, smtp: SmtpSink) -> str:
    """The status_report e-mail after recovery; returns the closed incident's id."""
    report = smtp.messages[1]
    assert report["To"] == LARM_MAIL and "Lägesrapport" in report["Subject"]
    assert "Lägesrapport om driftstoppet." in _body(report)
    assert "Driftstoppet är över sedan 2027-03-09 10:31." in _body(report)
    assert report["Message-ID"] != smtp.messages[0]["Message-ID"]
    with central.store.session() as s:
        (incident,) = s.scalars(select(Incident)).all()
        assert incident.status == "closed" and incident.open_key is None
        return incident.id


def test_service_daytime_outage_alarm_group_ack_then_status_report(
    db_url: str,
    broker: Broker,
    broker_client: Any,
    smtp: SmtpSink,
    sms: SmsSink,
    tmp_path: Path,
) -> None:
    gateway = "gw-11"
    seed_registry(db_url, [gateway])
    clock = FakeClock(TUESDAY_10)
    config = config_of(make_config(broker, db_url, smtp.port, sms.url, tmp_path))
    gw: BrokerClient = broker_client(gateway)
    state = gateway_topic(TENANT, gateway, TopicKind.STATE)
    events = gateway_topic(TENANT, gateway, TopicKind.EVENTS)
    with running(config, clock) as central:
        gw.publish(state, snapshot("failed", TUESDAY_10, 10), retain=True)
        gw.publish(events, event("restart_exhausted", TUESDAY_10, 11))
        wait_for(lambda: len(smtp.messages) == 1 and len(sms.posts) == 1, what="e-mail and SMS")
        code = _check_alarm(smtp, sms)

        task_id = central.service.acknowledge_sms(LARM_PHONE, f"ok {code.lower()}")
        (task,) = central.service.tasks()
        assert (task["id"], task["status"]) == (task_id, "acknowledged")
        assert task["acknowledged_by"] == LARM_PHONE
        _check_no_reminder(central, clock, smtp, sms)

        # The camera comes back and stays up for the settle time.
        gw.publish(state, snapshot("up", clock(), 20), retain=True)
        gw.publish(events, event("device_up", clock(), 21))
        wait_for(lambda: "settle" in _purposes(central), what="the settle timer")
        clock.advance(minutes=11)
        wait_for(lambda: len(smtp.messages) == 2 and len(sms.posts) == 2, what="status_report")
        incident_id = _check_status_report(central, smtp)

        # The retained summary is cleared: a new reader's first message is our marker.
        wait_for(lambda: _all_sent(central), what="the outbox to drain")
        topic = incident_topic(TENANT, incident_id)
        watcher: BrokerClient = broker_client("central", client_id=f"watch-{gateway}")
        watcher.subscribe(topic)
        watcher.publish(topic, b"marker")
        assert [m.payload for m in watcher.until(topic)] == [b"marker"]
    gw.publish(state, b"", retain=True)  # leave no retained state for other tests
