"""power_cycle through the real broker: the command reaches the gateway's cmd
topic and the gateway's answer on cmd/result is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from central.store import AuditEntry, CommandRecord
from protocol import Command, CommandResult, TopicKind, gateway_topic, parse
from sim.broker import Broker, BrokerClient
from tests.central.harness import TENANT, TickingClock, config_of, event, make_config, running
from tests.central.harness import seed_registry as seed
from tests.central.servers import SmsSink, SmtpSink, wait_for

TUESDAY_10 = datetime(2027, 3, 9, 9, 0, tzinfo=UTC)


def test_service_power_cycle_command_and_result_recorded(
    db_url: str, broker: Broker, broker_client: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    gateway = "gw-16"
    seed(db_url, [gateway])
    gw: BrokerClient = broker_client(gateway)
    cmd_topic = gateway_topic(TENANT, gateway, TopicKind.CMD)
    gw.subscribe(cmd_topic)
    config = config_of(make_config(broker, db_url, smtp.port, sms.url, tmp_path))
    with running(config, TickingClock(TUESDAY_10)) as central:
        command_id = central.service.power_cycle(TENANT, gateway, "camera", by="operatör-1")
        (received,) = gw.until(cmd_topic)
        message = parse(cmd_topic, received.payload)
        command = getattr(message, "body", None)
        assert isinstance(command, Command)
        assert (command.id, command.device, command.by) == (command_id, "camera", "operatör-1")
        assert command.expires > command.ts
        result = CommandResult(v=1, id=command.id, ts=command.ts, ok=True, detail="cycled")
        gw.publish(gateway_topic(TENANT, gateway, TopicKind.CMD_RESULT), result.to_payload())

        def recorded() -> bool:
            with central.store.session() as s:
                row = s.get(CommandRecord, command_id)
                return row is not None and row.ok is True

        wait_for(recorded, what="the result to be recorded")
        with central.store.session() as s:
            row = s.get(CommandRecord, command_id)
            assert row is not None and row.detail == "cycled" and row.result_at is not None
            audits = s.scalars(select(AuditEntry).where(AuditEntry.kind == "command")).all()
            assert [(a.actor, json.dumps(a.detail, sort_keys=True)) for a in audits] == [
                (
                    "operatör-1",
                    json.dumps(
                        {"command": command_id, "device": "camera", "gateway": gateway},
                        sort_keys=True,
                    ),
                ),
                (
                    gateway,
                    json.dumps(
                        {"command": command_id, "detail": "cycled", "ok": True}, sort_keys=True
                    ),
                ),
            ]


def test_service_events_through_a_shared_subscription(
    db_url: str, broker: Broker, broker_client: Any, smtp: SmtpSink, sms: SmsSink, tmp_path: Path
) -> None:
    gateway = "gw-17"
    seed(db_url, [gateway])
    data = make_config(broker, db_url, smtp.port, sms.url, tmp_path)
    # A group of its own: an earlier test's persistent session would still be a member,
    # and the broker would hand it its share of the events (docs/central.md).
    data["broker"]["shared_group"] = data["broker"]["client_id"]
    with running(config_of(data), TickingClock(TUESDAY_10)):
        gw: BrokerClient = broker_client(gateway)
        gw.publish(
            gateway_topic(TENANT, gateway, TopicKind.EVENTS),
            event("restart_exhausted", TUESDAY_10, 1),
        )
        wait_for(lambda: len(smtp.messages) == 1, what="the e-mail via $share")
