"""Silence, offline and our own blindness (ROUTINE.md "What the product changes").

A gateway is *silent* once nothing arrived for its ``heartbeat_s`` (at once
when it goes ``offline``); the silence becomes an outage after
``silence_grace`` (``agent_stopping`` with ``expected_back_s`` moves that
later). When more than ``blind.silent_share`` of the active gateways went
silent within ``blind.within``, or the broker is lost, the central service is
blind: one ``infrastructure`` incident, and silence opens nothing until
sight is back (then each silent home gets a fresh grace). A silent home's
camera is not confirmed up, so a check inside the lead time starts the
routine before the grace ends, once the silence outlasted ``blind.within``
(:func:`unknown_from`).
"""

from __future__ import annotations

from datetime import datetime

from central.engine.context import Context
from central.engine.homes import liveness_due
from central.engine.incidents import end_blind, home_of, live_incident, open_blind, open_outage
from central.engine.model import Home


def blind(ctx: Context) -> bool:
    incident = ctx.state.incidents.get(ctx.state.blind_incident or "")
    return incident is not None and incident.live


def requeue(ctx: Context, home: Home) -> None:
    ctx.queue_liveness(home.gateway, _due(ctx, home))


def _due(ctx: Context, home: Home) -> datetime | None:
    policy = ctx.policy
    return liveness_due(home, policy.missed_heartbeats, policy.silence_grace, ctx.state.blind_ended)


def unknown_from(ctx: Context, home: Home) -> datetime | None:
    """For a silent or offline home, when its unknown camera may put a near check
    at risk: once the silence outlasted ``blind.within`` (a fleet-wide silence
    is our own blindness by then, and gives no visits) and not before an
    announced stop's expected return. ``None`` for a home we hear."""
    since = home.silent_since or home.offline_since
    if since is None:
        return None
    return max(since + ctx.policy.blind_within, home.back_by or since)


def on_deadline(ctx: Context, due: datetime, gateway: str) -> bool:
    """A liveness deadline came due. Returns ``True`` if the home turned silent
    (the caller re-evaluates it), ``False`` otherwise."""
    home = home_of(ctx, gateway)
    current = _due(ctx, home)
    if current is None:
        return False
    if current > due:
        ctx.queue_liveness(gateway, current)
        return False
    if home.silent_since is None:
        home.silent_since = due
        if _counts(ctx, gateway):
            ctx.state.silent.add(gateway)
            ctx.state.silences.append((due, gateway))
            _check_fleet(ctx, due)
        requeue(ctx, home)
        return True
    if blind(ctx):
        return False
    home.silence_opened = True
    if _counts(ctx, gateway) and live_incident(ctx, home) is None:
        reason = "offline" if home.offline_since else "silent"
        open_outage(ctx, gateway, due, reason, since=home.silent_since)
    return False


def _counts(ctx: Context, gateway: str) -> bool:
    entry = ctx.registry.get(gateway)
    return entry is not None and entry.active


def _check_fleet(ctx: Context, at: datetime) -> None:
    silences = ctx.state.silences
    while silences and silences[0][0] < at - ctx.policy.blind_within:
        silences.popleft()
    if blind(ctx):
        return
    recent = {gw for _, gw in silences if gw in ctx.state.silent}
    if len(recent) > ctx.policy.blind_share * ctx.registry.active_count:
        open_blind(ctx, at, "fleet_silent")


def back(ctx: Context, gateway: str, at: datetime) -> None:
    """A silent gateway spoke again: maybe we can see again."""
    ctx.state.silent.discard(gateway)
    _maybe_see(ctx, at)


def broker_lost(ctx: Context, at: datetime) -> None:
    ctx.state.broker_lost = True
    open_blind(ctx, at, "broker_lost")


def broker_restored(ctx: Context, at: datetime) -> None:
    ctx.state.broker_lost = False
    _maybe_see(ctx, at)


def _maybe_see(ctx: Context, at: datetime) -> None:
    if not blind(ctx) or ctx.state.broker_lost:
        return
    if len(ctx.state.silent) > ctx.policy.blind_share * ctx.registry.active_count:
        return
    if end_blind(ctx, at):
        for gateway in sorted(ctx.state.silent):
            requeue(ctx, home_of(ctx, gateway))
