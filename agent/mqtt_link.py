"""The agent's one MQTT client: availability, state, events and commands (PROTOCOL.md).

Threads and who does what:

- paho's loop thread (``loop_start()``) runs the callbacks. They only
  translate and enqueue: ``on_connect`` publishes retained ``online`` and
  subscribes to ``P/cmd`` (so both are renewed after every reconnect) and
  otherwise everything goes to the link's queue. They never decide, block or
  raise.
- The link's worker thread owns the rest: it hands outbox rows to paho in
  order (at most ``window`` unacknowledged), deletes a row when its PUBACK
  comes back, validates commands and asks the runner to carry them out,
  answers every command.
- The runner calls :meth:`MqttLink.event` and :meth:`MqttLink.state` (the
  :class:`agent.reporting.Reporter` protocol; the runner sends state on every
  change and at least every ``heartbeat_s``): both only write the outbox.

Ordering over a reconnect: paho re-sends its unacknowledged messages itself,
right after ``on_connect`` returns. Until those are acknowledged the worker
sends nothing newer, so the broker sees events in outbox order.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from agent.command_check import Answer, RecentCommands, Refused, check_command, result
from agent.errors import ConfigError, Problem
from agent.outbox import InFlight, Outbox
from agent.reporting import CommandOutcome, CommandTarget
from agent.settings import AgentConfig
from agent.timesync import clock_synchronised
from protocol import (
    Availability,
    CommandType,
    DeviceReport,
    EventType,
    ReceivedCommand,
    TopicKind,
    event_payload,
    gateway_topic,
    new_id,
    state_payload,
)

log = logging.getLogger(__name__)

_STOP = object()


@functools.cache
def _agent_version() -> str:
    try:
        return metadata.version("driftvakt")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Where and how to connect. Times in seconds.

    :param tls: use TLS; ``ca_file`` None means the system's trust store.
    :param window: outbox rows handed to paho before their PUBACKs are back.
    """

    host: str
    port: int
    tenant: str
    gateway: str
    username: str | None = None
    password: str | None = None
    tls: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 60
    heartbeat_s: int = 30
    window: int = 10

    def topic(self, kind: TopicKind) -> str:
        return gateway_topic(self.tenant, self.gateway, kind)

    @classmethod
    def from_config(cls, config: AgentConfig) -> LinkSettings:
        """Settings from the agent's configuration; reads ``password_file`` if given.

        :raises ConfigError: the password file cannot be read.
        """
        broker = config.broker
        password = broker.password
        if broker.password_file is not None:
            try:
                password = broker.password_file.read_text().strip()
            except OSError as exc:
                problem = Problem("broker.password_file", str(broker.password_file), str(exc))
                raise ConfigError("agent configuration", [problem]) from exc
        return cls(
            host=broker.host,
            port=broker.port,
            tenant=config.gateway.tenant,
            gateway=config.gateway.id,
            username=broker.username,
            password=password,
            tls=broker.tls,
            ca_file=broker.ca_file,
            cert_file=broker.cert_file,
            key_file=broker.key_file,
            keepalive_s=broker.keepalive_s,
            heartbeat_s=config.gateway.heartbeat_s,
        )


class MqttLink:
    """Implements :class:`agent.reporting.Reporter` over MQTT, with the outbox behind it.

    :param outbox: the persistent outbox; the link does not close it.
    :param target: who carries out commands (the runner); None answers every command "not ready".
    :param devices: device names, for command validation.
    :param state_file: where the last snapshot is written for ``driftvakt-agent state``.
    :param clock: the wall clock (aware UTC); injected for tests.
    :param synced: whether the clock is synchronised (``time_synced``).
    """

    def __init__(
        self,
        settings: LinkSettings,
        outbox: Outbox,
        *,
        devices: Collection[str] = (),
        target: CommandTarget | None = None,
        state_file: Path | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        synced: Callable[[], bool] = clock_synchronised,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.devices = tuple(devices)
        self.target = target
        self.state_file = state_file
        self._clock, self._synced = clock, synced
        self.boot = new_id()
        """Changes at every agent start; with ``seq`` it orders what this run sent."""
        self._seq = 0
        self._order = threading.Lock()
        self._started = time.monotonic()
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._flight = InFlight()
        self._recent = RecentCommands()
        self._changed = threading.Condition()
        self._connected = False
        self._hold = False
        self._last_sent = 0
        self._worker: threading.Thread | None = None
        self._stopped = False
        self.client = self._make_client()

    @property
    def connected(self) -> bool:
        """Whether the worker has seen a successful CONNACK since the last disconnect."""
        return self._connected

    # -- paho client and callbacks (loop thread: translate and enqueue only) --

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id or f"driftvakt-agent-{s.gateway}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(
                ca_certs=str(s.ca_file) if s.ca_file else None,
                certfile=str(s.cert_file) if s.cert_file else None,
                keyfile=str(s.key_file) if s.key_file else None,
            )
        offline = Availability.OFFLINE.to_payload()
        client.will_set(s.topic(TopicKind.AVAILABILITY), offline, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=s.reconnect_min_s, max_delay=s.reconnect_max_s)
        client.max_inflight_messages_set(max(20, s.window + 2))
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            # on_connect also fires for a refused CONNACK (bad password, ACL): paho retries.
            self._inbox.put(("refused", str(reason)))
            return
        try:
            online = Availability.ONLINE.to_payload()
            info = client.publish(
                self.settings.topic(TopicKind.AVAILABILITY), online, qos=1, retain=True
            )
            self._flight.sent(info.mid, None)
            client.subscribe(self.settings.topic(TopicKind.CMD), qos=1)
        except Exception:  # a callback must never raise into paho's loop
            log.exception("announcing online failed")
        self._inbox.put(("connected", None))

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._inbox.put(("disconnected", str(reason)))

    def _on_publish(self, _c: Any, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        row = self._flight.acked(mid)
        self._inbox.put(("acked", row))

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(("command", message.topic, bytes(message.payload), self._clock()))

    # -- Reporter protocol (runner's thread: write the outbox, wake the worker) --

    def event(
        self, type: EventType, device: str | None, detail: Mapping[str, Any], at: datetime
    ) -> None:
        """Store one event for delivery; never raises (a full disk is logged)."""
        try:
            with self._order:  # seq order is outbox order, whichever thread reports
                event_id = new_id()
                payload = event_payload(
                    id=event_id,
                    ts=at,
                    boot=self.boot,
                    seq=self._next_seq(),
                    type=type.value,
                    device=device,
                    detail=detail,
                )
                self.outbox.add(self.settings.topic(TopicKind.EVENTS), payload)
                log.info("event %s %s device=%s %s", event_id, type.value, device or "-", detail)
        except Exception:
            log.exception("could not store event %s for %s", type.value, device)
        self._inbox.put(("wake", None))

    def state(self, devices: Mapping[str, DeviceReport], at: datetime) -> None:
        """Store the latest snapshot (replacing an unsent older one); never raises."""
        try:
            with self._order:
                snapshot = self._snapshot(devices, at)
                self.outbox.add(
                    self.settings.topic(TopicKind.STATE), snapshot, retain=True, coalesce="state"
                )
            self._write_state_file(snapshot)
        except Exception:
            log.exception("could not store the state snapshot")
        self._inbox.put(("wake", None))

    def _snapshot(self, devices: Mapping[str, DeviceReport], at: datetime) -> bytes:
        return state_payload(
            ts=at,
            boot=self.boot,
            seq=self._next_seq(),
            agent=_agent_version(),
            uptime_s=int(time.monotonic() - self._started),
            heartbeat_s=self.settings.heartbeat_s,
            time_synced=self._synced(),
            devices=devices,
        )

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _write_state_file(self, snapshot: bytes) -> None:
        if self.state_file is None:
            return
        record = {
            "snapshot": json.loads(snapshot),
            "connected": self._connected,
            "broker": f"{self.settings.host}:{self.settings.port}",
            "outbox_pending": len(self.outbox),
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(temporary, self.state_file)

    # -- lifecycle --

    def start(self) -> None:
        """Connect in the background (retrying with back-off) and start the worker."""
        if self._worker is not None:
            return
        self._worker = threading.Thread(target=self._work, name="driftvakt-mqtt", daemon=True)
        self._worker.start()
        self.client.connect_async(
            self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s
        )
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        """Wait for a successful connection (for tests and the CLI)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._connected, timeout)

    def wait_drained(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every outbox row."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.outbox) == 0, timeout)

    def stop(
        self, reason: str | None = None, expected_back_s: int | None = None, timeout: float = 5.0
    ) -> None:
        """Say goodbye and disconnect; calling it again does nothing.

        With a ``reason``, ``agent_stopping`` is stored first and, if the broker
        is reachable, delivered before the retained ``offline`` (a reader sees
        maintenance, not a failure). Undelivered rows stay in the outbox for the
        next start.

        :param timeout: seconds to wait for delivery before giving up.
        """
        if self._stopped:
            return
        self._stopped = True
        if reason is not None:
            detail: dict[str, Any] = {"reason": reason}
            if expected_back_s is not None:
                detail["expected_back_s"] = expected_back_s
            self.event(EventType.AGENT_STOPPING, None, detail, self._clock())
        if self._connected:
            # offline even if the outbox did not drain: a clean DISCONNECT suppresses the will,
            # and a retained "online" must not outlive the agent.
            self.wait_drained(timeout)
            offline = Availability.OFFLINE.to_payload()
            topic = self.settings.topic(TopicKind.AVAILABILITY)
            info = self.client.publish(topic, offline, qos=1, retain=True)
            self._flight.sent(info.mid, None)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._inbox.put(_STOP)
        if self._worker is not None:
            self._worker.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    # -- worker thread --

    def _work(self) -> None:
        while True:
            item = self._inbox.get()
            if item is _STOP:
                return
            try:
                self._handle(item)
                self._pump()
            except Exception:  # the worker must outlive any one bad message
                log.exception("MQTT worker failed on %r", item[0])

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "acked":
            if item[1] is not None:
                self.outbox.confirm(item[1])
            self._hold = self._hold and bool(self._flight.rows())
        elif kind == "connected":
            # paho re-sends what it still holds after on_connect: let that go first.
            self._hold = bool(self._flight.rows())
            self._set_connected(True)
            log.info("connected to %s:%s", self.settings.host, self.settings.port)
        elif kind == "disconnected":
            self._set_connected(False)
            log.warning("disconnected from broker: %s", item[1])
        elif kind == "refused":
            log.error("broker refused the connection: %s", item[1])
        elif kind == "command":
            self._command(item[1], item[2], item[3])
        with self._changed:
            self._changed.notify_all()

    def _set_connected(self, value: bool) -> None:
        with self._changed:
            self._connected = value
            self._changed.notify_all()

    def _pump(self) -> None:
        """Hand the next outbox rows to paho, in order, within the window."""
        if not self._connected or self._hold:
            return
        room = self.settings.window - len(self._flight.rows())
        if room <= 0:
            return
        for row in self.outbox.pending(after=self._last_sent, limit=room):
            info = self.client.publish(row.topic, row.payload, qos=1, retain=row.retain)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                return  # paho is full; this row goes out on a later pump
            confirmed = self._flight.sent(info.mid, row.id)
            if confirmed is not None:  # the PUBACK beat publish() back
                self.outbox.confirm(confirmed)
            self._last_sent = row.id

    # -- commands --

    def _command(self, topic: str, payload: bytes, received: datetime) -> None:
        checked = check_command(
            topic,
            payload,
            received,
            tenant=self.settings.tenant,
            gateway=self.settings.gateway,
            devices=self.devices,
            clock_synced=self._synced(),
        )
        command_id = checked.command_id if isinstance(checked, Refused) else checked.id
        earlier = self._recent.get(command_id) if command_id is not None else None
        if earlier is not None:  # redelivered (QoS 1): answer again, never act twice
            self._publish_result(earlier.id, CommandOutcome(earlier.ok, earlier.detail))
        elif isinstance(checked, Refused):
            self._answer(checked.command_id, CommandOutcome(False, checked.reason), None)
        else:
            self._answer(checked.id, self._carry_out(checked), checked)

    def _carry_out(self, command: ReceivedCommand) -> CommandOutcome:
        if self.target is None:
            return CommandOutcome(False, "agent is starting: not ready for commands")
        log.info("command %s %s %s by %s", command.id, command.type, command.device, command.by)
        if command.type is CommandType.POWER_CYCLE:
            return self.target.power_cycle(command.device, self._clock())
        return self.target.probe_now()

    def _answer(
        self, command_id: str | None, outcome: CommandOutcome, cmd: ReceivedCommand | None
    ) -> None:
        if not outcome.ok:
            detail: dict[str, Any] = {"reason": outcome.detail}
            if command_id is not None:
                detail["command_id"] = command_id
            device = cmd.device if cmd is not None and cmd.device in self.devices else None
            self.event(EventType.COMMAND_REJECTED, device, detail, self._clock())
            log.warning("command %s rejected: %s", command_id or "(no id)", outcome.detail)
        if command_id is not None:
            self._recent.remember(self._publish_result(command_id, outcome))

    def _publish_result(self, command_id: str, outcome: CommandOutcome) -> Answer:
        answer = result(command_id, outcome.ok, outcome.detail, self._clock())
        self.outbox.add(self.settings.topic(TopicKind.CMD_RESULT), answer.to_payload())
        return answer
