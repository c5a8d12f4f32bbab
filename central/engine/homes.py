"""What one home's messages say: device health, liveness and whether the
routine must start (ROUTINE.md "What the product changes"). Pure functions
over :class:`~central.engine.model.Home`; the engine acts on the verdict.

A home is *failing* (the routine starts) when automatic restart is exhausted
(``restart_exhausted``, or a device ``failed`` in a snapshot), or a device is
down on a home without a working relay. It is *confirmed up* only when every
device it reported is ``up`` and it is neither silent nor offline. The router
counts for the home: a router outage leaves the camera unreachable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from central.engine.model import Home
from protocol import Event, Health, StateSnapshot

SEEN_IDS = 256
"""Event ids remembered per gateway for deduplication: more than an outbox
replay after a long broker outage is likely to resend."""

_DOWNISH = {Health.DOWN.value, Health.UNREACHABLE.value, Health.FAILED.value}


def apply_snapshot(home: Home, snap: StateSnapshot) -> bool:
    """Take a state snapshot unless it is older than one already seen in this boot."""
    if snap.boot == home.boot and snap.seq < home.seq:
        return False
    home.boot, home.seq = snap.boot, snap.seq
    home.heartbeat_s = snap.heartbeat_s
    home.health = {name: dev.health.value for name, dev in snap.devices.items()}
    home.no_relay = sorted(name for name, dev in snap.devices.items() if not dev.auto_restart)
    if not any(h == Health.FAILED.value for h in home.health.values()):
        home.exhausted = False
    return True


def apply_event(home: Home, event: Event, at: datetime) -> bool:
    """Take an event; ``False`` for a duplicate (same id) so it changes nothing.
    An event older (same ``boot``, lower ``seq``) than the last snapshot comes
    late from the outbox: it proves the gateway is alive but says nothing new
    about health (PROTOCOL.md: readers order by (boot, seq))."""
    if event.id in home.seen_ids:
        return False
    home.seen_ids.append(event.id)
    if len(home.seen_ids) > SEEN_IDS:
        del home.seen_ids[0]
    if event.boot == home.boot:
        if event.seq < home.seq:
            return True
        home.seq = event.seq
    kind, device = event.type, event.device
    if kind == "restart_exhausted":
        home.exhausted = True
        if device:
            home.health[device] = Health.FAILED.value
    elif kind == "device_up" and device:
        home.health[device] = Health.UP.value
        home.exhausted = home.exhausted and _any_failed(home)
    elif kind in ("device_down", "device_unreachable") and device:
        home.health[device] = kind.removeprefix("device_")
    elif kind == "restart_started" and device:
        home.health[device] = Health.RESTARTING.value
    elif kind == "agent_stopping":
        back = event.detail.get("expected_back_s")
        if isinstance(back, int | float) and not isinstance(back, bool) and back >= 0:
            home.back_by = at + timedelta(seconds=back)
    elif kind == "agent_started":
        home.back_by = None
    return True


def _any_failed(home: Home) -> bool:
    return any(h == Health.FAILED.value for h in home.health.values())


def heard(home: Home, at: datetime, offline: bool = False) -> bool:
    """Something arrived from the gateway (``offline``: its last will or clean
    stop). Returns ``True`` if it had been silent and is now back."""
    was_silent = home.silent_since is not None
    home.last_seen = at
    if offline:
        home.offline_since = home.offline_since or at
        return False
    home.offline_since = None
    home.silent_since = None
    home.silence_opened = False
    return was_silent


def failing_reason(home: Home, relay: bool) -> str | None:
    """Why the routine must start for this home now, from what it reported."""
    if home.exhausted or _any_failed(home):
        return "restart_exhausted"
    no_relay = set(home.no_relay) if relay else set(home.health)
    if any(home.health.get(d) in _DOWNISH for d in no_relay):
        return "no_relay"
    return None


def reported_up(home: Home) -> bool:
    return bool(home.health) and all(h == Health.UP.value for h in home.health.values())


def confirmed_up(home: Home) -> bool:
    return reported_up(home) and home.silent_since is None and home.offline_since is None


def liveness_due(
    home: Home, missed: float, grace: timedelta, blind_ended: datetime | None
) -> datetime | None:
    """The next liveness deadline: when the gateway turns silent (``missed``
    heartbeat intervals without a message, at once when offline), or when its
    silence has lasted the grace and becomes an outage.
    ``agent_stopping`` with ``expected_back_s`` and the end of a blind spell
    push the outage later."""
    if home.silent_since is None:
        if home.offline_since is not None:
            return home.offline_since
        if home.last_seen is None:
            return None
        return home.last_seen + timedelta(seconds=home.heartbeat_s * missed)
    if home.silence_opened:
        return None
    base = max(t for t in (home.silent_since, home.back_by, blind_ended) if t is not None)
    return base + grace
