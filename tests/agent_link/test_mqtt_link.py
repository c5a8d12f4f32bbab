"""The MQTT link against a real Mosquitto with TLS, per-gateway accounts and ACL."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.mqtt_link import LinkSettings, MqttLink
from agent.outbox import Outbox
from agent.reporting import CommandOutcome
from protocol import (
    CommandResult,
    DeviceReport,
    DeviceState,
    Event,
    EventType,
    Health,
    StateSnapshot,
    TopicKind,
    format_time,
    gateway_topic,
)
from sim.broker import Broker, BrokerClient, Received
from tests.agent_link.conftest import LINK_GATEWAYS, TENANT, central, settings_for
from tests.agent_link.home import wait_until

T0 = datetime(2027, 3, 9, 2, 0, tzinfo=UTC)


def _topic(gateway: str, kind: TopicKind) -> str:
    return gateway_topic(TENANT, gateway, kind)


def gather(client: BrokerClient, topic: str, count: int, timeout: float = 15.0) -> list[Received]:
    """Every message received until ``count`` of them arrived on ``topic``."""
    deadline = time.monotonic() + timeout
    seen: list[Received] = []
    while sum(m.topic == topic for m in seen) < count:
        seen += client.until(topic, timeout=max(0.05, deadline - time.monotonic()))
    return seen


def events_in(messages: list[Received], gateway: str) -> list[Event]:
    topic = _topic(gateway, TopicKind.EVENTS)
    return [Event.model_validate_json(m.payload) for m in messages if m.topic == topic]


class RecordingTarget:
    """Stands in for the runner behind the command interface; records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def power_cycle(self, device: str, now: datetime) -> CommandOutcome:
        self.calls.append(("power_cycle", device))
        if device == "router":
            return CommandOutcome(False, "restart budget spent for router")
        return CommandOutcome(True, f"cycling {device}")

    def probe_now(self) -> CommandOutcome:
        self.calls.append(("probe_now", "all"))
        return CommandOutcome(True, "probing")


@pytest.fixture
def make_link(outbox_path: Path) -> Iterator[Callable[..., MqttLink]]:
    made: list[tuple[MqttLink, Outbox]] = []

    def make(settings: LinkSettings, path: Path | None = None, **options: object) -> MqttLink:
        box = Outbox(path or outbox_path)
        link = MqttLink(settings, box, synced=lambda: True, **options)  # type: ignore[arg-type]
        made.append((link, box))
        return link

    yield make
    for link, box in made:
        link.stop(timeout=2)
        box.close()


def test_link_announces_online_and_delivers_events_in_order(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[0]
    with central(link_broker, gw) as sub:
        link = make_link(settings_for(link_broker, gw))
        link.start()
        types = [EventType.DEVICE_DOWN, EventType.RESTART_STARTED, EventType.RESTART_SUCCEEDED]
        for n, kind in enumerate(types):
            link.event(kind, "camera", {"attempt": n}, T0 + timedelta(seconds=n))
        seen = gather(sub, _topic(gw, TopicKind.EVENTS), 3)
    assert seen[0].topic == _topic(gw, TopicKind.AVAILABILITY)
    assert (seen[0].payload, seen[0].retain) == (b"online", False)  # live, not the retained copy
    events = events_in(seen, gw)
    assert [e.type for e in events] == [t.value for t in types]
    assert [e.detail["attempt"] for e in events] == [0, 1, 2]
    assert {e.boot for e in events} == {link.boot}
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert link.wait_drained(5)


def test_link_state_is_retained_and_latest_wins(
    link_broker: Broker, make_link: Callable[..., MqttLink], tmp_path: Path
) -> None:
    gw = LINK_GATEWAYS[1]
    state_file = tmp_path / "state.json"
    link = make_link(settings_for(link_broker, gw, heartbeat_s=1), state_file=state_file)
    down = DeviceReport(health=Health.DOWN, since=T0)
    camera = DeviceReport(health=Health.UP, since=T0, rtt_ms=3.5, auto_restart=False)
    for n in range(20):  # coalesced in the outbox while offline: only the latest is sent
        link.state({"camera": down}, T0 + timedelta(seconds=n))
    link.state({"camera": camera}, T0 + timedelta(seconds=20))
    assert len(link.outbox) == 1
    link.start()
    assert link.wait_drained(5)
    with central(link_broker, gw) as late:  # subscribes after: gets the retained snapshot
        first = [m for m in gather(late, _topic(gw, TopicKind.STATE), 1) if "state" in m.topic]
    retained = StateSnapshot.model_validate_json(first[0].payload)
    assert first[0].retain
    assert retained.ts == T0 + timedelta(seconds=20)
    assert retained.heartbeat_s == 1
    assert retained.time_synced is True
    expected = DeviceState(health=Health.UP, since=T0, rtt_ms=3.5, auto_restart=False)
    assert retained.devices == {"camera": expected}
    recorded = json.loads(state_file.read_text())
    assert recorded["snapshot"]["boot"] == link.boot
    assert recorded["snapshot"]["devices"]["camera"]["health"] == "up"


def test_link_deletes_rows_only_on_puback(
    link_broker: Broker, make_link: Callable[..., MqttLink], outbox_path: Path
) -> None:
    gw = LINK_GATEWAYS[2]
    link = make_link(settings_for(link_broker, gw))
    for n in range(4):
        link.event(EventType.DEVICE_DOWN, "camera", {"n": n}, T0)
    assert len(link.outbox) == 4  # stored before any connection exists
    with central(link_broker, gw) as sub:
        link.start()
        seen = gather(sub, _topic(gw, TopicKind.EVENTS), 4)
    assert [e.detail["n"] for e in events_in(seen, gw)] == [0, 1, 2, 3]
    assert link.wait_drained(5)
    assert len(Outbox(outbox_path)) == 0


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_link_delivers_previous_runs_rows_first(
    link_broker: Broker, make_link: Callable[..., MqttLink], outbox_path: Path
) -> None:
    gw = LINK_GATEWAYS[3]
    offline = make_link(settings_for(link_broker, gw, port=_dead_port()))
    offline.start()
    offline.event(EventType.DEVICE_DOWN, "camera", {}, T0)
    offline.stop("upgrade", expected_back_s=60, timeout=0.5)
    with central(link_broker, gw) as sub:
        link = make_link(settings_for(link_broker, gw))
        link.start()
        link.event(EventType.AGENT_STARTED, None, {}, T0)
        events = events_in(gather(sub, _topic(gw, TopicKind.EVENTS), 3), gw)
    assert [(e.type, e.boot) for e in events] == [
        ("device_down", offline.boot),
        ("agent_stopping", offline.boot),
        ("agent_started", link.boot),
    ]
    assert events[1].detail == {"reason": "upgrade", "expected_back_s": 60}


def test_link_clean_stop_says_agent_stopping_then_offline(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[4]
    link = make_link(settings_for(link_broker, gw))
    link.start()
    assert link.wait_connected(10)
    with central(link_broker, gw) as sub:
        link.stop("upgrade", expected_back_s=120)
        seen = gather(sub, _topic(gw, TopicKind.AVAILABILITY), 2)  # retained online, then offline
    assert [e.type for e in events_in(seen, gw)] == ["agent_stopping"]
    assert (seen[-1].payload, seen[-1].retain) == (b"offline", False)
    assert len(link.outbox) == 0


def test_link_keeps_events_through_broker_outage(
    tmp_path: Path, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[5]
    broker = Broker(tmp_path / "broker", persistence=True)
    broker.add_gateway(TENANT, gw)
    broker.add_central([TENANT])
    (broker.directory / "data").mkdir(parents=True, exist_ok=True)  # where sessions are saved
    with broker.start():
        sub = central(broker, gw, client_id="central-outage")
        link = make_link(settings_for(broker, gw))
        link.start()
        assert link.wait_connected(10)
        broker.stop()
        for n in range(5):
            link.event(EventType.RESTART_FAILED, "camera", {"n": n}, T0)
        assert len(link.outbox) == 5
        broker.start()
        seen = gather(sub, _topic(gw, TopicKind.EVENTS), 5, timeout=20)
        sub.close()
    assert [e.detail["n"] for e in events_in(seen, gw)] == [0, 1, 2, 3, 4]
    assert link.wait_drained(5)


def test_link_resubscribes_to_commands_after_a_broker_restart(
    tmp_path: Path, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[19]
    broker = Broker(tmp_path / "broker")  # no persistence: the restart forgets every session
    broker.add_gateway(TENANT, gw)
    broker.add_central([TENANT])
    target = RecordingTarget()
    with broker.start():
        link = make_link(settings_for(broker, gw), target=target, devices=("router", "camera"))
        link.start()
        assert link.wait_connected(10)
        broker.stop()
        wait_until(lambda: not link.connected, 10)
        broker.start()
        assert link.wait_connected(15)
        with central(broker, gw) as ops:
            ops.publish(_topic(gw, TopicKind.CMD), _command(gw))
            seen = gather(ops, _topic(gw, TopicKind.CMD_RESULT), 1)
    assert target.calls == [("power_cycle", "camera")]
    assert [(a.id, a.ok) for a in _results(seen, gw)] == [("01JCMDLINK00000000000000A1", True)]


def _command(gw: str, **changes: object) -> bytes:
    body: dict[str, object] = {
        "v": 1,
        "id": "01JCMDLINK00000000000000A1",
        "ts": format_time(datetime.now(UTC)),
        "type": "power_cycle",
        "device": "camera",
        "by": "op-7",
        "expires": format_time(datetime.now(UTC) + timedelta(minutes=5)),
    }
    body.update(changes)
    return json.dumps(body).encode()


def _results(messages: list[Received], gw: str) -> list[CommandResult]:
    topic = _topic(gw, TopicKind.CMD_RESULT)
    return [CommandResult.model_validate_json(m.payload) for m in messages if m.topic == topic]


def test_link_carries_out_command_and_answers_once_per_delivery(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[6]
    target = RecordingTarget()
    link = make_link(settings_for(link_broker, gw), target=target, devices=("router", "camera"))
    link.start()
    assert link.wait_connected(10)
    with central(link_broker, gw) as ops:
        ops.publish(_topic(gw, TopicKind.CMD), _command(gw))
        ops.publish(_topic(gw, TopicKind.CMD), _command(gw))  # redelivered
        seen = gather(ops, _topic(gw, TopicKind.CMD_RESULT), 2)
    assert target.calls == [("power_cycle", "camera")]
    answers = _results(seen, gw)
    assert [(a.id, a.ok, a.detail) for a in answers] == [
        ("01JCMDLINK00000000000000A1", True, "cycling camera")
    ] * 2


def test_link_rejects_expired_malformed_and_over_budget_commands(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[7]
    target = RecordingTarget()
    link = make_link(settings_for(link_broker, gw), target=target, devices=("router", "camera"))
    link.start()
    assert link.wait_connected(10)
    past = format_time(datetime.now(UTC) - timedelta(seconds=1))
    with central(link_broker, gw) as ops:
        cmd = _topic(gw, TopicKind.CMD)
        ops.publish(cmd, _command(gw, id="01JCMDEXPIRED", expires=past))
        ops.publish(cmd, b"{garbage")
        ops.publish(cmd, _command(gw, id="01JCMDBUDGET", device="router"))
        ops.publish(cmd, _command(gw, id="01JCMDPROBE", type="probe_now", device="all"))
        # The last answer was stored after every rejection event: outbox order is delivery order.
        seen = gather(ops, _topic(gw, TopicKind.CMD_RESULT), 3)
    answers = {a.id: (a.ok, a.detail) for a in _results(seen, gw)}
    assert answers == {
        "01JCMDEXPIRED": (False, f"expired at {past}"),
        "01JCMDBUDGET": (False, "restart budget spent for router"),
        "01JCMDPROBE": (True, "probing"),
    }
    rejected = [(e.device, e.detail.get("command_id")) for e in events_in(seen, gw)]
    assert rejected == [(None, "01JCMDEXPIRED"), (None, None), ("router", "01JCMDBUDGET")]
    assert target.calls == [("power_cycle", "router"), ("probe_now", "all")]


def test_link_confirms_a_burst_in_order_despite_fast_acks(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[14]
    with central(link_broker, gw) as sub:
        link = make_link(settings_for(link_broker, gw))
        link.start()
        assert link.wait_connected(10)
        for n in range(300):  # loopback acks often beat publish() back: the mid race
            link.event(EventType.DEVICE_DOWN, "camera", {"n": n}, T0)
        seen = gather(sub, _topic(gw, TopicKind.EVENTS), 300)
        assert link.wait_drained(10)
    assert [e.detail["n"] for e in events_in(seen, gw)] == list(range(300))
    assert link._flight.rows() == set()


class _Proxy:
    """A TCP relay between the link and the broker that can swallow the broker's
    replies (PUBACKs never arrive) and then cut every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.blackhole = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, replies: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if not (replies and self.blackhole.is_set()):
                    dst.sendall(data)

    def cut(self) -> None:
        self.blackhole.clear()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._conns.clear()

    def close(self) -> None:
        self._server.close()
        self.cut()


def test_link_resends_unacknowledged_rows_before_newer_ones(
    link_broker: Broker, make_link: Callable[..., MqttLink]
) -> None:
    gw = LINK_GATEWAYS[17]
    proxy = _Proxy((link_broker.host, link_broker.port))
    topic = _topic(gw, TopicKind.EVENTS)
    try:
        with central(link_broker, gw) as sub:
            link = make_link(settings_for(link_broker, gw, port=proxy.port))
            link.start()
            assert link.wait_connected(10)
            proxy.blackhole.set()  # the broker gets the events; its PUBACKs are lost
            for n in range(3):
                link.event(EventType.DEVICE_DOWN, "camera", {"n": n}, T0)
            seen = gather(sub, topic, 3)
            proxy.cut()
            wait_until(lambda: not link.connected, 5)
            for n in range(3, 8):  # stored while offline, behind three unacknowledged ones
                link.event(EventType.DEVICE_DOWN, "camera", {"n": n}, T0)
            assert len(link.outbox) == 8
            assert link.wait_drained(15)  # reconnected: paho re-sent 0-2, then 3-7 went out
            while len({e.id for e in events_in(seen, gw)}) < 8:
                seen += gather(sub, topic, 1)
    finally:
        proxy.close()
    events = events_in(seen, gw)
    assert [e.detail["n"] for e in events] == [0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7]
