"""The registry in the database: rows of ``homes`` to and from the engine's
``registry.Home``. An import replaces a tenant's whole registry in one
transaction, so a reader never sees half of it."""

from __future__ import annotations

from datetime import time

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from central.registry import Home, Registry
from central.store.models import Home as HomeRow


def _clocks(values: tuple[time, ...]) -> list[str]:
    return [v.strftime("%H:%M") for v in values]


def _times(values: list[str]) -> tuple[time, ...]:
    return tuple(time.fromisoformat(v) for v in values)


def to_row(tenant: str, home: Home) -> HomeRow:
    return HomeRow(
        tenant=tenant,
        gateway=home.gateway,
        homecare_group=home.homecare_group,
        active=home.active,
        relay=home.relay,
        night_checks=_clocks(home.night_checks),
        visit_plan=None if home.visit_plan is None else _clocks(home.visit_plan),
        label=home.label or None,
        camera_serial=home.camera_serial or None,
        router_serial=home.router_serial or None,
        camera_mac=home.camera_mac or None,
        router_mac=home.router_mac or None,
    )


def from_row(row: HomeRow) -> Home:
    return Home(
        gateway=row.gateway,
        homecare_group=row.homecare_group,
        night_checks=_times(row.night_checks),
        active=row.active,
        label=row.label or "",
        camera_serial=row.camera_serial or "",
        router_serial=row.router_serial or "",
        relay=row.relay,
        visit_plan=None if row.visit_plan is None else _times(row.visit_plan),
        camera_mac=row.camera_mac or "",
        router_mac=row.router_mac or "",
    )


def replace(session: Session, tenant: str, homes: list[Home]) -> None:
    """Make ``homes`` the tenant's whole registry."""
    session.execute(delete(HomeRow).where(HomeRow.tenant == tenant))
    session.add_all(to_row(tenant, h) for h in homes)
    session.flush()


def load(session: Session, tenant: str) -> Registry:
    rows = session.scalars(
        select(HomeRow).where(HomeRow.tenant == tenant).order_by(HomeRow.gateway)
    )
    return Registry(from_row(r) for r in rows)
