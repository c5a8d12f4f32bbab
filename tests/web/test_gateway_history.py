"""The gateway page's history (central/web/gateways.py) over the audit index, on
SQLite and PostgreSQL: however much the rest of the fleet wrote since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from central.store import Gateway, Store, audit
from central.web.app import create_app
from central.web.context import WebContext
from central.web.gateways import gateway_detail
from central.web.settings import WebConfig
from tests.web.conftest import CHEAP

T0 = datetime(2027, 1, 12, 21, 0, tzinfo=UTC)
TENANT = "botkyrka"


def _ctx(store: Store) -> WebContext:
    app = create_app(None, store, WebConfig(), secret="s" * 32, hasher=CHEAP, now=lambda: T0)
    ctx: WebContext = app.state.ctx
    return ctx


def _heard(session: Session, *gateways: str) -> None:
    for gateway in gateways:
        session.add(Gateway(tenant=TENANT, gateway=gateway))


def _history(store: Store, gateway: str) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = gateway_detail(
        _ctx(store), TENANT, gateway, labels=False
    ).public()["history"]
    return history


def _own_event(session: Session, gateway: str, at: datetime, kind: str = "device_down") -> None:
    audit.record(
        session,
        at=at,
        tenant=TENANT,
        kind="gateway",
        actor=gateway,
        detail={"type": kind, "device": "camera", "agent": {}},
        gateway=gateway,
    )


def test_gateway_history_survives_thousands_of_newer_entries_of_other_gateways(
    store: Store,
) -> None:
    with store.session() as s:
        _heard(s, "gw-old")
        _own_event(s, "gw-old", T0)
        audit.record(
            s,
            at=T0 + timedelta(seconds=1),
            tenant=TENANT,
            kind="command",
            actor="anna",
            detail={"command": "C1", "gateway": "gw-old", "device": "camera"},
        )
        for i in range(5200):
            _own_event(s, f"gw-{i % 2000:04d}", T0 + timedelta(minutes=1, seconds=i))
    history = _history(store, "gw-old")
    assert [(h["kind"], h["actor"], h["at"]) for h in history] == [
        ("command", "anna", T0 + timedelta(seconds=1)),
        ("gateway", "gw-old", T0),
    ]
    assert history[1]["detail"] == {"type": "device_down", "device": "camera", "agent": {}}


def test_gateway_history_shows_multi_gateway_entries_on_each_named_page(store: Store) -> None:
    with store.session() as s:
        _heard(s, "gw-a", "gw-b", "gw-c")
        audit.record(
            s,
            at=T0,
            tenant=TENANT,
            kind="decision",
            actor="engine",
            incident_id="I1",
            detail={"kind": "extensive", "gateways": ["gw-a", "gw-b"]},
        )
        audit.record(
            s, at=T0, tenant="other", kind="decision", actor="engine", detail={"gateways": ["gw-a"]}
        )
    for gateway in ("gw-a", "gw-b"):
        (entry,) = _history(store, gateway)
        assert entry["detail"] == {"kind": "extensive", "gateways": ["gw-a", "gw-b"]}
    assert _history(store, "gw-c") == []


def test_gateway_history_is_the_newest_fifty_newest_first(store: Store) -> None:
    with store.session() as s:
        _heard(s, "gw-a")
        for i in range(60):
            _own_event(s, "gw-a", T0 + timedelta(seconds=i), kind=f"e{i}")
    history = _history(store, "gw-a")
    assert [h["detail"]["type"] for h in history] == [f"e{i}" for i in range(59, 9, -1)]


def test_gateway_history_does_not_take_a_person_for_a_gateway(store: Store) -> None:
    with store.session() as s:
        _heard(s, "gw-a")
        audit.record(
            s, at=T0, tenant=TENANT, kind="human", actor="gw-a", detail={"action": "login"}
        )
        audit.record(
            s,
            at=T0,
            tenant=TENANT,
            kind="human",
            actor="anna",
            detail={"action": "x", "gateway": "gw-a"},
        )
    assert [h["actor"] for h in _history(store, "gw-a")] == ["anna"]
