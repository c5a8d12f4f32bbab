"""End to end: the demo's story with real processes, asserted on decisions, messages and MQTT.

One run of the compressed story (tests/e2e/story.py, about a minute) serves
every test in this module; each test reads one side of it. Decision times in
the audit log are UTC; the story's times are Stockholm wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from protocol import Event, IncidentSummary
from sim.site import CHECKS, ROLE_CONTACTS
from tests.e2e.story import AREA, DEAD, HOMES, HUNG, StoryResult, local_hour, run_story

pytestmark = pytest.mark.slow
Decision = dict[str, Any]
LEAD = timedelta(minutes=15)
"""The shipped policy's check lead time."""


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoryResult]:
    result = run_story(tmp_path_factory.mktemp("story"))
    print(f"\ncompressed story: {result.seconds:.1f} s real, {len(result.messages)} messages")
    yield result


def _incidents(story: StoryResult, kind: str) -> dict[str, list[Decision]]:
    decisions = story.decisions()
    ids = [d["incident"] for d in decisions if (d["event"], d["kind"]) == ("incident_opened", kind)]
    return {i: [d for d in decisions if d["incident"] == i] for i in ids}


def _created(decisions: list[Decision], action: str) -> list[Decision]:
    return [d for d in decisions if d["event"] == "task_created" and d["action"] == action]


def _before_return(visit: Decision, decisions: list[Decision]) -> bool:
    homes = set(visit["gateways"])
    back = max(
        _utc(d["at"])
        for d in decisions
        if d["event"] == "incident_closed" and homes & set(d["gateways"])
    )
    return _utc(visit["check"]) <= back + LEAD


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _checks_of(gateway: str) -> set[str]:
    return set(CHECKS[HOMES.index(gateway) % len(CHECKS)].split())


def test_story_hung_camera_is_fixed_by_the_relay_without_an_incident(story: StoryResult) -> None:
    topic = f"driftvakt/v1/botkyrka/{HUNG}/events"
    events = [Event.model_validate_json(m.payload) for m in story.mqtt if m.topic == topic]
    camera = [e.type for e in events if e.device == "camera"]
    assert "restart_started" in camera
    assert "restart_exhausted" not in camera
    assert camera[-1] in ("device_up", "restart_succeeded")
    assert not [d for d in story.decisions() if HUNG in d["gateways"]]


def test_story_dead_camera_starts_the_routine_by_day(story: StoryResult) -> None:
    (single,) = [d for d in _incidents(story, "single").values() if d[0]["gateways"] == [DEAD]]
    assert single[0]["reason"].startswith("restart_exhausted; window office")
    (contact,) = _created(single, "contact_homecare")
    assert contact["role"] == "larmgruppen"
    assert "13:05" <= local_hour(contact["at"]) < "16:00"
    (night,) = _created(single, "notify_night_patrol")
    # Timers fire on a 0.1 s poll: one demo minute at 600x, more on a loaded machine.
    assert night["role"] == "nattpatrullen"
    assert "16:00" <= local_hour(night["at"]) < "16:10"


def test_story_night_fills_the_patrols_visit_list(story: StoryResult) -> None:
    visits = _created(story.decisions(), "physical_visit")
    dead = [d for d in visits if d["gateways"] == [DEAD]]
    assert {local_hour(d["check"]) for d in dead} == _checks_of(DEAD)
    assert {local_hour(d["at"])[:4] for d in dead} == {"21:3"}
    for home in AREA:
        assert any(home in d["gateways"] for d in visits), f"no visit for {home}"
    assert {d["role"] for d in visits} == {"nattpatrullen"}


def test_story_five_homes_failing_together_open_one_extensive_incident(
    story: StoryResult,
) -> None:
    (extensive,) = _incidents(story, "extensive").values()
    assert set(extensive[-1]["gateways"]) == set(AREA)
    assert "22:00" <= local_hour(extensive[0]["at"]) < "22:40"
    roles = {(d["action"], d["role"]) for d in extensive if d["event"] == "task_created"}
    assert {("vendor_report", "nattpatrullen"), ("it_ownership", "it_funktion")} <= roles
    assert not _incidents(story, "infrastructure")
    merged = [
        d[-1]["gateways"][0]
        for d in _incidents(story, "single").values()
        if d[-1]["reason"] == f"merged into {extensive[0]['incident']}"
    ]
    assert set(merged) <= set(AREA)


def test_story_service_returns_and_every_loop_closes(story: StoryResult) -> None:
    decisions = story.decisions()
    opened = {d["incident"] for d in decisions if d["event"] == "incident_opened"}
    closed = {d["incident"] for d in decisions if d["event"] == "incident_closed"}
    assert opened and opened == closed
    ended = {d["task"] for d in decisions if d["event"] in ("cancelled", "completed")}
    created = [d for d in decisions if d["event"] == "task_created" and d["task"] not in ended]
    # A visit stays on the list when its check came before service did, or within the
    # check's lead time of its return (ROUTINE.md); follow-ups stay for people to do.
    visits = [d for d in created if d["action"] == "physical_visit"]
    missed = [d for d in visits if _before_return(d, decisions)]
    rest = [d["action"] for d in created if d not in missed]
    assert [a for a in rest if a not in ("status_report", "incident_report")] == []
    told = {d["role"] for d in _created(decisions, "status_report")}
    assert {"nattpatrullen", "larmgruppen"} <= told


def test_story_sinks_received_email_sms_and_webhook(story: StoryResult) -> None:
    received = {(m.channel, m.to) for m in story.messages}
    larm_mail, larm_phone = ROLE_CONTACTS["larmgruppen"]
    natt_phone = ROLE_CONTACTS["nattpatrullen"][1]
    it_mail = ROLE_CONTACTS["it_funktion"][0]
    assert {("email", larm_mail), ("sms", larm_phone), ("sms", natt_phone)} <= received
    assert ("email", it_mail) in received
    assert [m for m in story.messages if m.channel == "webhook"]
    contact = [
        m for m in story.messages if m.to == larm_phone and "Kontakta hemtjänstgruppen" in m.body
    ]
    assert contact and DEAD in contact[0].body
    vendor = [
        m for m in story.messages if m.to == natt_phone and "Felanmäl till leverantören" in m.body
    ]
    assert vendor, "the night patrol got no SMS about the vendor report"


def test_story_outside_subscriber_sees_availability_and_incident_summaries(
    story: StoryResult,
) -> None:
    for home in AREA:
        topic = f"driftvakt/v1/botkyrka/{home}/availability"
        seen = [m.payload for m in story.mqtt if m.topic == topic]
        # online, the power cut's last will, online again; offline at the test's clean stop.
        assert seen[:3] == [b"online", b"offline", b"online"], (home, seen)
    summaries: dict[str, list[bytes]] = {}
    for m in story.mqtt:
        if "/_central/incidents/" in m.topic:
            summaries.setdefault(m.topic, []).append(m.payload)
    kinds = set()
    for payloads in summaries.values():
        assert payloads[-1] == b"", "a closed incident's retained summary is cleared"
        kinds |= {IncidentSummary.model_validate_json(p).kind.value for p in payloads if p}
    assert {"single", "extensive"} <= kinds


def test_story_no_client_label_leaves_the_registry(story: StoryResult) -> None:
    assert not [m.topic for m in story.mqtt if "påhittad".encode() in m.payload]
    assert not [d for d in story.decisions() if "påhittad" in json.dumps(d)]
    assert not [m for m in story.messages if m.channel == "sms" and "påhittad" in m.body]
