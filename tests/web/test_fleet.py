from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.store import Gateway, Home, Store
from central.web.fleet import fleet, home_state

NOW = datetime(2027, 3, 10, 1, 0, tzinfo=UTC)


def _gw(availability: str | None = "online", age_s: float | None = 10, **devices: str) -> Gateway:
    return Gateway(
        tenant="botkyrka",
        gateway="gw-1",
        availability=availability,
        availability_at=NOW,
        state_at=None if age_s is None else NOW - timedelta(seconds=age_s),
        heartbeat_s=30,
        devices={
            name: {"health": h, "since": "2027-03-10T00:00:00Z"} for name, h in devices.items()
        },
    )


def _home(active: bool = True) -> Home:
    return Home(tenant="botkyrka", gateway="gw-1", homecare_group="g", active=active, label="L")


@pytest.mark.parametrize(
    ("home", "gateway", "state"),
    [
        (_home(), _gw(router="up", camera="up"), "ok"),
        (_home(), _gw(router="up", camera="failed"), "atgard"),
        (_home(), _gw(router="down", camera="unreachable"), "stord"),
        (_home(), _gw(router="up", camera="restarting"), "stord"),
        (_home(), _gw(router="up", camera="unknown"), "okand"),
        (_home(), _gw(age_s=89, router="up", camera="up"), "ok"),
        (_home(), _gw(age_s=91, router="up", camera="up"), "tyst"),
        (_home(), _gw(availability="offline", router="up", camera="up"), "tyst"),
        (_home(), None, "okand"),
        (_home(active=False), _gw(router="up", camera="failed"), "pausad"),
        (None, _gw(router="up", camera="up"), "ok"),
    ],
)
def test_fleet_home_state(home: Any, gateway: Any, state: str) -> None:
    assert home_state(home, gateway, NOW) == state


def test_fleet_counts_follow_the_group_filter_and_rows_the_state_filter(web_store: Store) -> None:
    with web_store.session() as session:
        for i, (group, camera) in enumerate(
            [("Tumba", "failed"), ("Tumba", "up"), ("Hallunda", "up"), ("Hallunda", "down")]
        ):
            gw = f"gw-{i}"
            session.add(
                Home(
                    tenant="botkyrka",
                    gateway=gw,
                    homecare_group=group,
                    active=True,
                    label=f"Brukare {i}",
                )
            )
            gateway = _gw(router="up", camera=camera)
            gateway.gateway = gw
            session.add(gateway)
    with web_store.session() as session:
        every = fleet(session, NOW, labels=False)
        assert dict(every.counts) == {"atgard": 1, "ok": 2, "stord": 1}
        assert [r.gateway for r in every.rows][:2] == ["gw-0", "gw-3"]  # worst first
        assert all(r.label is None for r in every.rows)
        assert every.groups == ["Hallunda", "Tumba"]
        tumba = fleet(session, NOW, labels=True, group="Tumba", state="ok")
        assert dict(tumba.counts) == {"atgard": 1, "ok": 1}
        assert [(r.gateway, r.label) for r in tumba.rows] == [("gw-1", "Brukare 1")]
