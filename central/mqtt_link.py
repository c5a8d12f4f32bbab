"""The one owner of the central service's paho ``Client`` (STYLE.md, 2 and 8).

One link per tenant, because MQTT gives a connection a single last will and
each tenant's readers watch their own ``_central/availability``. The link
uses callback API VERSION2, TLS with the central account, a retained
``offline`` will, an explicit reconnect back-off and ``loop_start()``; it
subscribes and publishes a retained ``online`` in ``on_connect`` so a
reconnect renews both. The session is persistent (``clean_session=False``
with a fixed client id), so QoS 1 events published while central was away
are queued by the broker and delivered when it returns.

Callbacks only enqueue, with the arrival time taken from the injected clock;
they never decide, block or raise.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from central.config import BrokerConfig
from central.errors import BrokerError
from protocol import Availability, central_availability_topic, subscriptions

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Arrived:
    """One MQTT message as received, before parsing."""

    topic: str
    payload: bytes
    at: datetime


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """The broker connection of ``tenant`` came up (``up``) or went away."""

    tenant: str
    up: bool
    at: datetime
    reason: str = ""


Inbound = Arrived | LinkChanged


class MqttLink:
    """The central service's connection to the broker for one tenant.

    :param BrokerConfig config: broker URL, TLS and credentials.
    :param str tenant: the tenant whose topics this link serves.
    :param inbox: where callbacks put :class:`Arrived` and :class:`LinkChanged`.
    :param clock: the live clock, giving arrival times (aware UTC).
    """

    def __init__(
        self,
        config: BrokerConfig,
        tenant: str,
        inbox: queue.Queue[Inbound],
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self.tenant = tenant
        self._inbox = inbox
        self._clock = clock
        self._connected = threading.Event()
        self._first = threading.Event()
        self._refusal = ""
        self._client = self._make_client()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _make_client(self) -> mqtt.Client:
        c = self._config
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{c.client_id}-{self.tenant}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=False,
        )
        if c.tls:
            client.tls_set(
                ca_certs=str(c.ca_file),
                certfile=str(c.cert_file) if c.cert_file else None,
                keyfile=str(c.key_file) if c.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if c.username:
            client.username_pw_set(c.username, c.password)
        will = central_availability_topic(self.tenant)
        client.will_set(will, Availability.OFFLINE.to_payload(), qos=1, retain=True)
        client.reconnect_delay_set(
            min_delay=int(c.reconnect_min_s), max_delay=int(c.reconnect_max_s)
        )
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect and start the network loop; wait for the first CONNACK.

        :raises BrokerError: the broker cannot be reached or refused us, with the reason.
        """
        c = self._config
        try:
            self._client.connect(c.host, c.port, keepalive=c.keepalive_s)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerError(f"cannot reach the MQTT broker at {c.url}: {exc}") from None
        self._client.loop_start()
        if not self._first.wait(c.connect_timeout_s) or not self._connected.is_set():
            self._client.loop_stop()
            why = self._refusal or f"no CONNACK within {c.connect_timeout_s:g} s"
            raise BrokerError(f"the MQTT broker at {c.url} did not accept us: {why}")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish at QoS 1; paho queues it while the link is down."""
        return self._client.publish(topic, payload, qos=1, retain=retain)

    def publish_confirmed(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = 10.0
    ) -> bool:
        """Publish and wait for the broker's PUBACK; ``False`` if it did not come."""
        info = self.publish(topic, payload, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def close(self) -> None:
        """Say ``offline`` (a clean stop), then disconnect; safe to call again."""
        if self._connected.is_set():
            self.publish_confirmed(
                central_availability_topic(self.tenant),
                Availability.OFFLINE.to_payload(),
                retain=True,
                timeout=5.0,
            )
            self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def _on_connect(
        self, client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self._refusal = str(reason)
            self._first.set()
            return
        for topic in subscriptions(self.tenant, self._config.shared_group):
            client.subscribe(topic, qos=1)
        client.publish(
            central_availability_topic(self.tenant),
            Availability.ONLINE.to_payload(),
            qos=1,
            retain=True,
        )
        self._connected.set()
        self._first.set()
        self._inbox.put(LinkChanged(self.tenant, True, self._clock()))

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any
    ) -> None:
        was_up = self._connected.is_set()
        self._connected.clear()
        if was_up:
            self._inbox.put(LinkChanged(self.tenant, False, self._clock(), str(reason)))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # counted as a bad topic by the parser, never raised here
            topic = "\ufffd"
        self._inbox.put(Arrived(topic, bytes(msg.payload), self._clock()))
