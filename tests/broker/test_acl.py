"""The broker's ACL, proved against the real Mosquitto (PROTOCOL.md, "Limits and bad input").

A reader cannot see who published a message, so the broker must stop a gateway
from writing under another gateway's prefix. Absence is proved by order: the
forbidden message is published first and an allowed one last, both at QoS 1
by the same client, so once the allowed one has arrived the forbidden one
would have arrived before it.
"""

from __future__ import annotations

from paho.mqtt.enums import MQTTProtocolVersion

from protocol import TopicKind, gateway_topic
from sim.broker import Broker, BrokerClient, make_client
from tests.conftest import TENANT, ConnectClient

ALL = "driftvakt/v1/#"


def topic(gateway: str, kind: TopicKind) -> str:
    return gateway_topic(TENANT, gateway, kind)


def test_acl_gateway_publish_under_other_prefix_never_reaches_central(
    broker_client: ConnectClient,
) -> None:
    central = broker_client("central")
    central.subscribe(ALL)
    gw_a = broker_client("gw-01")

    for kind in (TopicKind.STATE, TopicKind.EVENTS, TopicKind.AVAILABILITY, TopicKind.CMD_RESULT):
        gw_a.publish(topic("gw-02", kind), b'{"forged": true}')
    gw_a.publish(topic("gw-01", TopicKind.EVENTS), b"control")

    arrived = central.until(topic("gw-01", TopicKind.EVENTS))
    assert [(m.topic, m.payload) for m in arrived] == [
        (topic("gw-01", TopicKind.EVENTS), b"control")
    ]


def test_acl_gateway_writes_every_topic_of_its_own_prefix(broker_client: ConnectClient) -> None:
    central = broker_client("central")
    central.subscribe(ALL)
    gw = broker_client("gw-03")
    kinds = (TopicKind.AVAILABILITY, TopicKind.STATE, TopicKind.EVENTS, TopicKind.CMD_RESULT)

    for kind in kinds:
        gw.publish(topic("gw-03", kind), kind.value)

    arrived = central.until(topic("gw-03", TopicKind.CMD_RESULT))
    assert [m.topic for m in arrived] == [topic("gw-03", k) for k in kinds]


def test_acl_gateway_cannot_publish_cmd_of_other_or_own(broker_client: ConnectClient) -> None:
    gw_a = broker_client("gw-04")
    gw_b = broker_client("gw-05")
    gw_a.subscribe(topic("gw-04", TopicKind.CMD))
    gw_b.subscribe(topic("gw-05", TopicKind.CMD))
    central = broker_client("central")
    central.subscribe(ALL)

    gw_a.publish(topic("gw-05", TopicKind.CMD), b'{"type": "power_cycle"}')
    gw_a.publish(topic("gw-04", TopicKind.CMD), b'{"type": "power_cycle"}')
    gw_a.publish(topic("gw-04", TopicKind.EVENTS), b"control")

    assert [m.topic for m in central.until(topic("gw-04", TopicKind.EVENTS))] == [
        topic("gw-04", TopicKind.EVENTS)
    ]
    # The central account's cmd reaches each gateway only after nothing else did.
    central.publish(topic("gw-05", TopicKind.CMD), b"from central")
    central.publish(topic("gw-04", TopicKind.CMD), b"from central")
    assert [m.payload for m in gw_b.until(topic("gw-05", TopicKind.CMD))] == [b"from central"]
    assert [m.payload for m in gw_a.until(topic("gw-04", TopicKind.CMD))] == [b"from central"]


def test_acl_gateway_cannot_read_other_cmd_or_state(broker_client: ConnectClient) -> None:
    gw_a = broker_client("gw-06")
    codes = gw_a.subscribe(topic("gw-07", TopicKind.CMD), topic("gw-07", TopicKind.STATE), ALL)
    # Mosquitto's ACL file grants every subscription and filters delivery instead.
    assert [c.value for c in codes] == [1, 1, 1]
    central = broker_client("central")
    gw_b = broker_client("gw-07")

    central.publish(topic("gw-07", TopicKind.CMD), b"for gw-07 only")
    gw_b.publish(topic("gw-07", TopicKind.STATE), b"gw-07 state")
    central.publish(topic("gw-06", TopicKind.CMD), b"control")

    assert [(m.topic, m.payload) for m in gw_a.until(topic("gw-06", TopicKind.CMD))] == [
        (topic("gw-06", TopicKind.CMD), b"control")
    ]


def test_acl_central_command_reaches_only_its_gateway(broker_client: ConnectClient) -> None:
    central = broker_client("central")
    gw_a = broker_client("gw-08")
    gw_a.subscribe(topic("gw-08", TopicKind.CMD))

    assert central.publish(topic("gw-08", TopicKind.CMD), b'{"type": "probe_now"}').value == 0

    [received] = gw_a.until(topic("gw-08", TopicKind.CMD))
    assert received.payload == b'{"type": "probe_now"}'
    assert received.qos == 1


def test_acl_central_writes_its_own_central_topics(broker_client: ConnectClient) -> None:
    central = broker_client("central")
    watcher = broker_client("central", client_id="central-watcher")
    watcher.subscribe(f"driftvakt/v1/{TENANT}/_central/#")

    central.publish(f"driftvakt/v1/{TENANT}/_central/incidents/01TEST", b"{}")

    [received] = watcher.until(f"driftvakt/v1/{TENANT}/_central/incidents/01TEST")
    assert received.payload == b"{}"


def test_acl_gateway_cannot_write_central_topics(broker_client: ConnectClient) -> None:
    central = broker_client("central")
    central.subscribe(ALL)
    gw = broker_client("gw-09")

    gw.publish(f"driftvakt/v1/{TENANT}/_central/availability", b"offline")
    gw.publish(f"driftvakt/v1/{TENANT}/_central/incidents/01FORGED", b"{}")
    gw.publish("elsewhere/entirely", b"x")
    gw.publish(topic("gw-09", TopicKind.STATE), b"control")

    assert [m.topic for m in central.until(topic("gw-09", TopicKind.STATE))] == [
        topic("gw-09", TopicKind.STATE)
    ]


def test_acl_denied_publish_is_reported_only_over_mqtt5(broker_client: ConnectClient) -> None:
    v311 = broker_client("gw-10")
    v5 = broker_client("gw-11", protocol=MQTTProtocolVersion.MQTTv5)

    # MQTT 3.1.1 has no way to say no: the PUBACK looks like success, the message is dropped.
    assert v311.publish(topic("gw-11", TopicKind.STATE), b"x").value == 0
    # MQTT 5's PUBACK carries 135 "Not authorized" for the same kind of publish.
    assert v5.publish(topic("gw-10", TopicKind.STATE), b"x").value == 135
    assert v5.publish(topic("gw-11", TopicKind.CMD), b"x").value == 135
    allowed = v5.publish(topic("gw-11", TopicKind.STATE), b"x")
    assert not allowed.is_failure  # 0, or 16 "No matching subscribers"


def test_acl_denials_are_in_the_broker_log(broker: Broker, broker_client: ConnectClient) -> None:
    since = broker.log_size()
    gw = broker_client("gw-12")
    gw.publish(topic("gw-13", TopicKind.STATE), b"x")

    denied = [line for line in broker.log_text(since).splitlines() if "Denied PUBLISH" in line]
    assert len(denied) == 1
    assert topic("gw-13", TopicKind.STATE) in denied[0]


def test_acl_retained_message_of_other_gateway_is_not_delivered(
    broker_client: ConnectClient,
) -> None:
    owner = broker_client("gw-17")
    availability = topic("gw-17", TopicKind.AVAILABILITY)
    owner.publish(availability, b"online", retain=True)
    try:
        central = broker_client("central")
        central.subscribe(availability)
        [stored] = central.until(availability)
        assert stored.retain  # the retained message exists: central gets it on subscribing

        other = broker_client("gw-18")
        other.subscribe(ALL)
        central.publish(topic("gw-18", TopicKind.CMD), b"control")
        assert [m.payload for m in other.until(topic("gw-18", TopicKind.CMD))] == [b"control"]
    finally:
        owner.publish(availability, b"", retain=True)  # clear it for later tests


def test_acl_gateway_last_will_under_other_prefix_is_dropped(
    broker: Broker, broker_client: ConnectClient
) -> None:
    central = broker_client("central")
    central.subscribe(ALL)
    honest, forger = make_client(broker.account("gw-19")), make_client(broker.account("gw-20"))
    honest.will_set(topic("gw-19", TopicKind.AVAILABILITY), b"offline", qos=1)
    forger.will_set(topic("gw-19", TopicKind.STATE), b'{"forged": true}', qos=1)
    since = broker.log_size()

    BrokerClient.connect(forger, broker.host, broker.port).drop()
    broker.wait_for_log("closed its connection", since)
    BrokerClient.connect(honest, broker.host, broker.port).drop()

    # The honest gateway's own will arrives, and nothing of the forger's came before it.
    arrived = central.until(topic("gw-19", TopicKind.AVAILABILITY))
    assert [(m.topic, m.payload) for m in arrived] == [
        (topic("gw-19", TopicKind.AVAILABILITY), b"offline")
    ]
