"""paho-mqtt clients configured for the Driftvakt broker, for tests and the demo.

:func:`make_client` gives a configured, unconnected paho ``Client`` (VERSION2
callbacks, TLS with the project CA and the account's client certificate, user
name and password): what an agent or central's MQTT module starts from.
:class:`BrokerClient` is a connected, looping client with waits that have a
deadline: SUBACK, PUBACK (with MQTT 5's reason code) and received messages in
arrival order. Production code owns its client in its own module (STYLE.md 8);
this one is for driving and observing the broker from outside.
"""

from __future__ import annotations

import queue
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from sim.errors import BrokerConnectError

DEFAULT_TIMEOUT = 5.0
"""Seconds to wait for a CONNACK, SUBACK, PUBACK or message on a local broker."""


CONNACK_ACCEPTED = b"\x20\x02\x00\x00"
"""An MQTT 3.1.1 CONNACK: no session present, return code 0 (accepted)."""

DISCONNECT_PACKET = b"\xe0\x00"


def connect_packet(username: str, password: str, client_id: str) -> bytes:
    """A bare MQTT 3.1.1 CONNECT (clean session, keep-alive 30 s, user name and password).

    For probes that must not depend on paho: the broker's readiness check, and
    tests that send it over a plain socket to the TLS port.
    """

    def field(text: str) -> bytes:
        data = text.encode()
        return struct.pack("!H", len(data)) + data

    flags = 0b1100_0010  # user name, password, clean session
    body = field("MQTT") + bytes([4, flags]) + struct.pack("!H", 30)
    body += field(client_id) + field(username) + field(password)
    if len(body) > 127:
        raise ValueError("connect_packet keeps to one-byte remaining lengths (< 128 bytes)")
    return bytes([0x10, len(body)]) + body


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one account needs to connect: password, client certificate, and the CA to trust."""

    username: str
    password: str
    certfile: Path
    keyfile: Path
    cafile: Path

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context: trusts only the project CA, presents this account's certificate."""
        context = ssl.create_default_context(cafile=str(self.cafile))
        context.load_cert_chain(str(self.certfile), str(self.keyfile))
        return context


@dataclass(frozen=True, slots=True)
class Received:
    """One message as a subscriber saw it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


def make_client(
    creds: Credentials,
    *,
    client_id: str = "",
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    clean_session: bool = True,
    anonymous: bool = False,
    client_cert: bool = True,
    tls: bool = True,
) -> mqtt.Client:
    """A paho client set up for ``creds``; the last three flags exist to prove refusals.

    :param creds: the account.
    :param client_id: MQTT client id; empty lets the broker choose (clean sessions only).
    :param protocol: ``MQTTv311`` (the contract's baseline) or ``MQTTv5``.
    :param clean_session: MQTT 3.1.1 only; ``False`` keeps the session on the broker.
    :param anonymous: send no user name or password.
    :param client_cert: present the account's client certificate.
    :param tls: use TLS at all (``False`` speaks plain MQTT to the TLS port).
    """
    v5 = protocol == MQTTProtocolVersion.MQTTv5
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if v5 else clean_session,
    )
    if tls:
        client.tls_set(
            ca_certs=str(creds.cafile),
            certfile=str(creds.certfile) if client_cert else None,
            keyfile=str(creds.keyfile) if client_cert else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    if not anonymous:
        client.username_pw_set(creds.username, creds.password)
    return client


class BrokerClient:
    """A connected, looping paho client with deadline waits; close it (or use ``with``).

    Construct with :meth:`connect`. Every message on a subscribed filter lands
    in an in-order inbox, read with :meth:`until` or :meth:`received`.
    """

    def __init__(self, client: mqtt.Client) -> None:
        self.client = client
        self._messages: queue.Queue[Received] = queue.Queue()
        self._acks: dict[int, Any] = {}
        self._cond = threading.Condition()
        self._connack: ReasonCode | None = None
        self._lost: str | None = None
        self._closed = False
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message

    @classmethod
    def connect(
        cls,
        client: mqtt.Client,
        host: str,
        port: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> BrokerClient:
        """Connect ``client``, start its loop and wait for a successful CONNACK.

        :param client: a client from :func:`make_client` (its callbacks are replaced).
        :param host: broker address.
        :param port: broker TLS port.
        :param timeout: seconds to wait for the CONNACK.
        :raises BrokerConnectError: refused, TLS failure, or no CONNACK in time.
        """
        self = cls(client)
        try:
            client.connect(host, port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerConnectError(f"connect to {host}:{port} failed: {exc!r}") from exc
        # Run the loop by hand until the CONNACK: a refused client then has no
        # background thread retrying, and the loop thread starts only on success.
        deadline = time.monotonic() + timeout
        while self._connack is None and self._lost is None and time.monotonic() < deadline:
            rc = client.loop(timeout=0.02)
            if rc != mqtt.MQTT_ERR_SUCCESS and self._lost is None:
                self._lost = mqtt.error_string(rc)
        connack, lost = self._connack, self._lost
        if connack is not None and not connack.is_failure:
            client.loop_start()
            return self
        self.close()
        if connack is not None:
            raise BrokerConnectError(f"broker refused the connection: {connack}")
        reason = lost or f"no CONNACK within {timeout} s"
        raise BrokerConnectError(f"connection to {host}:{port} failed: {reason}")

    def subscribe(
        self, *filters: str, qos: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[ReasonCode]:
        """Subscribe and wait for the SUBACK; messages published after it are routed here.

        Mosquitto's ACL file never refuses a subscription: a forbidden filter is
        granted and simply delivers nothing.

        :returns: the granted QoS or failure code for each filter.
        """
        rc, mid = self.client.subscribe([(f, qos) for f in filters])
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerConnectError(f"subscribe to {filters} failed: {mqtt.error_string(rc)}")
        return list(self._wait_ack(mid, timeout, "SUBACK"))

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ReasonCode:
        """Publish and, for QoS 1 and 2, wait until the broker acknowledged it.

        :returns: the PUBACK's reason code; MQTT 5 carries "Not authorized" (135)
            for a publish the ACL denied, MQTT 3.1.1 always "Success".
        """
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerConnectError(f"publish to {topic!r} failed: {mqtt.error_string(info.rc)}")
        result: ReasonCode = self._wait_ack(info.mid, timeout, "PUBACK")
        return result

    def until(self, topic: str, timeout: float = DEFAULT_TIMEOUT) -> list[Received]:
        """Messages in arrival order up to and including the first one on ``topic``.

        With ``topic`` published last by a sender, anything that was going to
        arrive before it has arrived: this is how tests prove an absence.

        :raises TimeoutError: no message on ``topic`` in time (names what did arrive).
        """
        deadline = time.monotonic() + timeout
        seen: list[Received] = []
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self._messages.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                got = [m.topic for m in seen]
                raise TimeoutError(
                    f"no message on {topic!r} within {timeout} s; got {got}"
                ) from None
            seen.append(message)
            if message.topic == topic:
                return seen

    def received(self) -> list[Received]:
        """Everything received and not yet read, without waiting."""
        out: list[Received] = []
        while True:
            try:
                out.append(self._messages.get_nowait())
            except queue.Empty:
                return out

    def drop(self) -> None:
        """Cut the connection without a DISCONNECT, as a crash or a power cut does.

        The broker then publishes the client's last will. The client is closed afterwards.
        """
        if self._closed:
            return
        self._closed = True
        # paho has no public "stop without DISCONNECT". loop_stop() sets this
        # flag and then joins; setting it before the cut makes the loop thread
        # end on the cut at once instead of sleeping towards a reconnect.
        self.client._thread_terminate = True
        sock = self.client.socket()
        if isinstance(sock, socket.socket):  # an ssl.SSLSocket is one too
            sock.shutdown(socket.SHUT_RDWR)
        self.client.loop_stop()

    def close(self) -> None:
        """Disconnect and stop the loop; safe to call again."""
        if self._closed:
            return
        self._closed = True
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> BrokerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait_ack(self, mid: int, timeout: float, what: str) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: mid in self._acks, timeout):
                raise TimeoutError(f"no {what} for message id {mid} within {timeout} s")
            return self._acks.pop(mid)

    def _notify(self, update: Callable[[], None]) -> None:
        with self._cond:
            update()
            self._cond.notify_all()

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._notify(lambda: setattr(self, "_connack", rc))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._notify(lambda: setattr(self, "_lost", f"disconnected: {rc}"))

    def _on_subscribe(
        self, _c: mqtt.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Any
    ) -> None:
        self._notify(lambda: self._acks.__setitem__(mid, codes))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, rc: ReasonCode, _p: Any) -> None:
        self._notify(lambda: self._acks.__setitem__(mid, rc))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._messages.put(Received(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))
