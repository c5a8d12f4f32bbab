"""The night patrol's worklist: one ``physical_visit`` per scheduled check (or
per visit of the client's agreed plan) while the camera is not working, kept
live as cameras fail and recover (ROUTINE.md steps 4-5, E3).

A visit task appears when its check's night begins (the start of the policy's
visit window occurrence containing the check), or ``check_lead`` before the
check if that is earlier or the check lies outside the window, and never
before the outage. A home whose camera is not confirmed ``up`` gets a *lead*
timer ``check_lead`` before its next check: if still not up then, the routine
starts (ROUTINE.md: "a scheduled check is near ... and the camera is not
confirmed up, even while the agent is still trying").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from central.engine.context import Context
from central.engine.model import Home, Incident
from central.engine.tasks import create_task
from central.policy import Policy

VISIT_TIMER = "visits"
LEAD_TIMER = "lead"
HORIZON = timedelta(hours=36)
"""How far ahead the planner looks for the next check: more than a day, so the
next night's first check is always seen."""


def create_time(policy: Policy, check: datetime) -> datetime:
    window = policy.visit_window
    occ = window.occurrence_at(check) if window else None
    lead = check - policy.check_lead
    return min(occ.start, lead) if occ else lead


def plan_visits(
    ctx: Context, incident: Incident, home: Home, at: datetime, since: datetime | None = None
) -> None:
    """Create the visits whose time has come; schedule the planner for the next.
    Checks from ``since`` on count (a silent gateway's camera was unknown)."""
    entry = ctx.registry.get(home.gateway)
    policy = ctx.policy_of(incident)
    ctx.cancel(home.visit_timer)
    home.visit_timer = None
    if entry is None or not entry.active or policy.visit_step is None:
        return
    start = min(at, since) if since else at
    start = max(start, home.planned_until) if home.planned_until else start
    for check in entry.visits_between(start, at + HORIZON, policy.tz):
        when = create_time(policy, check)
        if when > at:
            home.visit_timer = ctx.schedule(
                when, VISIT_TIMER, incident=incident.id, gateway=home.gateway
            )
            return
        reason = f"scheduled check; camera not working ({incident.reason})"
        create_task(
            ctx, incident, policy.visit_step, at, gateway=home.gateway, check=check, reason=reason
        )
        home.planned_until = check + timedelta(seconds=1)


def add_reported_visit(
    ctx: Context, incident: Incident, home: Home, check: datetime, at: datetime
) -> None:
    """A failed check the digital supervisor reported becomes a visit (step 4)."""
    policy = ctx.policy_of(incident)
    if policy.visit_step is not None:
        reason = "digital supervisor reported the check failed"
        create_task(
            ctx, incident, policy.visit_step, at, gateway=home.gateway, check=check, reason=reason
        )


def arm_lead(ctx: Context, home: Home, at: datetime, not_before: datetime | None = None) -> bool:
    """Watch the next check of a home whose camera is not confirmed up.
    Returns ``True`` if that check is already inside the lead time (and
    ``not_before``, when given, has passed)."""
    entry = ctx.registry.get(home.gateway)
    policy = ctx.policy
    if entry is None or not entry.active:
        return False
    checks = entry.checks_between(at, at + HORIZON, policy.tz)
    if not checks:
        return False
    due = checks[0] - policy.check_lead
    if not_before is not None and not_before > due:
        due = not_before
    if due <= at:
        return True
    current = ctx.state.timers.get(home.lead_timer) if home.lead_timer else None
    if current is None or current.due != due:
        ctx.cancel(home.lead_timer)
        home.lead_timer = ctx.schedule(due, LEAD_TIMER, gateway=home.gateway)
    return False


def disarm_lead(ctx: Context, home: Home) -> None:
    ctx.cancel(home.lead_timer)
    home.lead_timer = None
