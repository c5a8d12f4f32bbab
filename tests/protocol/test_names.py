import pytest

from protocol import (
    CENTRAL,
    Topic,
    TopicKind,
    central_availability_topic,
    gateway_topic,
    incident_topic,
    parse_topic,
    prefix,
    subscriptions,
)


def test_prefix_builds_tenant_and_gateway_path() -> None:
    assert prefix("botkyrka", "gw-0042") == "driftvakt/v1/botkyrka/gw-0042"


@pytest.mark.parametrize(
    ("tenant", "gateway"),
    [
        ("Botkyrka", "gw-1"),  # upper case
        ("-botkyrka", "gw-1"),  # leading dash
        ("a" * 33, "gw-1"),  # too long
        ("botkyrka", "_central"),  # reserved for the central side
        ("botkyrka", "gw/1"),  # a topic separator
        ("botkyrka", "gw+1"),  # a wildcard
        ("botkyrka", ""),
    ],
)
def test_prefix_refuses_names_outside_the_contract(tenant: str, gateway: str) -> None:
    with pytest.raises(ValueError, match="must match"):
        prefix(tenant, gateway)


@pytest.mark.parametrize("kind", [k for k in TopicKind if not k.value.startswith("_central")])
def test_gateway_topic_round_trips_through_parse_topic(kind: TopicKind) -> None:
    topic = gateway_topic("botkyrka", "gw-0042", kind)
    assert parse_topic(topic) == Topic("botkyrka", kind, gateway="gw-0042")
    assert str(Topic("botkyrka", kind, gateway="gw-0042")) == topic


def test_central_topics_round_trip() -> None:
    avail = central_availability_topic("botkyrka")
    assert avail == f"driftvakt/v1/botkyrka/{CENTRAL}/availability"
    assert parse_topic(avail) == Topic("botkyrka", TopicKind.CENTRAL_AVAILABILITY)
    inc = incident_topic("botkyrka", "01JINCIDENT")
    assert inc == "driftvakt/v1/botkyrka/_central/incidents/01JINCIDENT"
    parsed = parse_topic(inc)
    assert parsed == Topic("botkyrka", TopicKind.INCIDENT, incident_id="01JINCIDENT")
    assert str(parsed) == inc


def test_gateway_topic_refuses_central_kinds() -> None:
    with pytest.raises(ValueError, match="central topic"):
        gateway_topic("botkyrka", "gw-1", TopicKind.INCIDENT)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "driftvakt",
        "driftvakt/v2/botkyrka/gw-1/state",
        "driftvakt/v1/botkyrka/gw-1",
        "driftvakt/v1/botkyrka/gw-1/status",
        "driftvakt/v1/botkyrka/gw-1/state/extra",
        "driftvakt/v1/botkyrka/gw-1/cmd/result/x",
        "driftvakt/v1/BOTKYRKA/gw-1/state",
        "driftvakt/v1/botkyrka/_other/state",
        "driftvakt/v1/botkyrka/_central/incidents",
        "driftvakt/v1/botkyrka/_central/incidents/bad id",
        "/driftvakt/v1/botkyrka/gw-1/state",
    ],
)
def test_parse_topic_returns_none_outside_the_contract(topic: str) -> None:
    assert parse_topic(topic) is None


def test_subscriptions_keep_retained_topics_plain_and_share_the_rest() -> None:
    subs = subscriptions("botkyrka", shared_group="central")
    assert subs == [
        "driftvakt/v1/botkyrka/+/availability",
        "driftvakt/v1/botkyrka/+/state",
        "$share/central/driftvakt/v1/botkyrka/+/events",
        "$share/central/driftvakt/v1/botkyrka/+/cmd/result",
    ]
    assert not any(s.startswith("$share") for s in subscriptions("botkyrka"))
