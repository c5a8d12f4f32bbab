"""Incidents: opening, grouping, recovery and closing (ROUTINE.md).

- A failing home opens a ``single`` incident, unless ``extensive.threshold``
  homes failed within ``extensive.within``: then one ``extensive`` incident
  takes them all. The singles' own tasks are cancelled (suppressed) and the
  singles close, but their ``physical_visit`` tasks move over unchanged: every
  affected client keeps its visits. A home failing while a young extensive
  incident is still growing joins it.
- The route (steps by window) is fixed when the incident opens; the incident
  keeps the policy snapshot it opened with to the end.
- Recovery (the settle time passed with every device up) cancels the open
  tasks, except visits whose check is inside the lead time and follow-up work
  (journal notes); those told of the outage get a ``status_report``.
- Our own blindness opens one ``infrastructure`` incident and no visits.
"""

from __future__ import annotations

from datetime import datetime

from central.engine import texts
from central.engine.context import Context
from central.engine.effects import DecisionEvent
from central.engine.model import INCIDENT_CLOSED, Home, Incident
from central.engine.tasks import ACK_TIMER, cancel_task, create_task
from central.engine.visits import disarm_lead, plan_visits
from central.policy import OTHERWISE, Policy, Route, RouteMatch

STEP_TIMER = "step"
KEEP_ON_RECOVERY = frozenset(
    {"journal_note", "incident_report", "verify_restored", "status_report"}
)
_PREFIX = {"single": "S", "extensive": "E", "infrastructure": "I"}


def home_of(ctx: Context, gateway: str) -> Home:
    home = ctx.state.homes.get(gateway)
    if home is None:
        home = ctx.state.homes[gateway] = Home(gateway)
    return home


def live_incident(ctx: Context, home: Home) -> Incident | None:
    incident = ctx.state.incidents.get(home.incident) if home.incident else None
    return incident if incident is not None and incident.live else None


def open_outage(
    ctx: Context, gateway: str, at: datetime, reason: str, since: datetime | None = None
) -> Incident:
    """The routine starts for one home: a single incident, or grouped. ``since``
    (silence) makes checks missed since then visits too: the camera was unknown."""
    home = home_of(ctx, gateway)
    disarm_lead(ctx, home)
    policy = ctx.policy
    failures = ctx.state.failures
    while failures and failures[0][0] < at - policy.extensive_within:
        failures.popleft()
    failures.append((at, gateway))
    extensive = _growing_extensive(ctx, at)
    if extensive is not None:
        join(ctx, extensive, home, at, reason, since)
        return extensive
    peers = _failing_singles(ctx, gateway)
    if len(peers) + 1 < policy.extensive_threshold:
        return open_incident(ctx, "single", [gateway], at, reason, since=since)
    members = [g for single in peers for g in single.gateways] + [gateway]
    return open_incident(ctx, "extensive", members, at, "grouped", absorb=peers, since=since)


def _growing_extensive(ctx: Context, at: datetime) -> Incident | None:
    """The latest extensive incident, if still open and joined within the window."""
    incident = ctx.state.incidents.get(ctx.state.last_extensive or "")
    if incident is None or not incident.live or incident.last_join is None:
        return None
    return incident if incident.last_join >= at - ctx.policy.extensive_within else None


def _failing_singles(ctx: Context, gateway: str) -> list[Incident]:
    found: dict[str, Incident] = {}
    for _, peer in ctx.state.failures:
        home = ctx.state.homes.get(peer)
        incident = live_incident(ctx, home) if home and peer != gateway else None
        if incident is not None and incident.kind == "single":
            found[incident.id] = incident
    return list(found.values())


def open_incident(
    ctx: Context,
    kind: str,
    gateways: list[str],
    at: datetime,
    reason: str,
    absorb: list[Incident] | None = None,
    since: datetime | None = None,
) -> Incident:
    policy = ctx.policy
    match = policy.route_at(kind, at)
    incident = Incident(
        id=ctx.new_id(_PREFIX[kind], at),
        kind=kind,
        opened=at,
        updated=at,
        policy=policy.hash,
        window=match.window,
        reason=reason,
        owner=match.route.owner,
        gateways=list(gateways),
        last_join=at,
    )
    ctx.state.incidents[incident.id] = incident
    claimed = (
        f" (also claimed by {', '.join(match.claimed_by)})" if len(match.claimed_by) > 1 else ""
    )
    why = f"{reason}; window {match.window}{claimed}; owner {match.route.owner}"
    ctx.decide(at, DecisionEvent.INCIDENT_OPENED, incident, role=match.route.owner, reason=why)
    if kind == "extensive":
        ctx.state.last_extensive = incident.id
    for single in absorb or []:
        merge(ctx, single, incident, at)
    for gateway in gateways:
        home_of(ctx, gateway).incident = incident.id
    _start_route(ctx, incident, policy, match, at)
    if kind != "infrastructure":
        for gateway in gateways:
            plan_visits(ctx, incident, home_of(ctx, gateway), at, since)
    return incident


def _start_route(
    ctx: Context, incident: Incident, policy: Policy, match: RouteMatch, at: datetime
) -> None:
    end = policy.window_end(match, incident.kind, at)
    for route_step in match.route.steps:
        step, nxt = route_step.step, route_step.next_window
        if route_step.at == "open":
            _create_route_task(ctx, incident, step.id, at, end if match.route.handover else None)
        elif route_step.at == "window_end" and end is not None:
            ctx.schedule(end, STEP_TIMER, incident=incident.id, step=step.id)
        elif nxt is not None:
            window = policy.windows[nxt]
            occ = window.occurrence_at(at) or window.next_occurrence(at)
            if occ is not None and occ.start <= at:
                _create_route_task(ctx, incident, step.id, at, None)
            elif occ is not None:
                ctx.schedule(occ.start, STEP_TIMER, incident=incident.id, step=step.id)


def _create_route_task(
    ctx: Context,
    incident: Incident,
    step_id: str,
    at: datetime,
    window_end: datetime | None,
    reason: str = "",
) -> None:
    policy = ctx.policy_of(incident)
    step = policy.step(step_id)
    draft = ""
    if step.action == "vendor_report":
        homes = [h for g in incident.gateways if (h := ctx.registry.get(g)) is not None]
        draft = texts.vendor_report(policy, incident, homes)
    task = create_task(
        ctx,
        incident,
        step,
        at,
        window_end=window_end,
        draft=draft,
        reason=reason or f"route {incident.kind}/{incident.window}",
    )
    if task is not None:
        task.window = incident.window


def on_step_timer(ctx: Context, incident: Incident, step_id: str, at: datetime) -> None:
    """A deferred step is due (end of the window, or start of office hours):
    made only if the incident is still open."""
    if incident.live:
        _create_route_task(
            ctx, incident, step_id, at, None, reason="deferred step due; still failing"
        )


def join(
    ctx: Context,
    extensive: Incident,
    home: Home,
    at: datetime,
    reason: str,
    since: datetime | None = None,
) -> None:
    if home.gateway not in extensive.gateways:
        extensive.gateways.append(home.gateway)
    if home.gateway in extensive.recovered:
        extensive.recovered.remove(home.gateway)
    home.incident = extensive.id
    extensive.last_join = extensive.updated = at
    why = f"{home.gateway} joined: {reason}"
    ctx.decide(at, DecisionEvent.INCIDENT_UPDATED, incident=extensive, reason=why)
    plan_visits(ctx, extensive, home, at, since)


def merge(ctx: Context, single: Incident, extensive: Incident, at: datetime) -> None:
    """Fold a single incident into an extensive one (ROUTINE.md "Gaps": grouped
    homes' single-outage tasks are suppressed, their visits remain)."""
    for key, task in list(single.tasks.items()):
        if not task.live:
            continue
        if task.action != "physical_visit":
            cancel_task(ctx, single, task, at, f"suppressed: merged into {extensive.id}")
            continue
        del single.tasks[key]
        task.incident = extensive.id
        extensive.tasks[key] = task
        old = ctx.state.timers.get(task.timer) if task.timer else None
        ctx.cancel(task.timer)
        if old is not None:
            task.timer = ctx.schedule(old.due, ACK_TIMER, incident=extensive.id, task=key)
    single.merged_into = extensive.id
    _close(ctx, single, at, f"merged into {extensive.id}")


def home_recovered(ctx: Context, home: Home, at: datetime) -> None:
    """The camera stayed up for the settle time."""
    incident = live_incident(ctx, home)
    if incident is None:
        return
    policy = ctx.policy_of(incident)
    for task in incident.live_tasks():
        mine = task.gateway == home.gateway and task.action == "physical_visit"
        if mine and (task.check is None or task.check > at + policy.check_lead):
            cancel_task(ctx, incident, task, at, "camera recovered")
    ctx.cancel(home.visit_timer)
    home.visit_timer = None
    home.incident = None
    if home.gateway not in incident.recovered:
        incident.recovered.append(home.gateway)
    if set(incident.recovered) >= set(incident.gateways):
        recover(ctx, incident, at, "service restored")


def recover(ctx: Context, incident: Incident, at: datetime, reason: str) -> None:
    """Close the loop: cancel what is no longer needed, tell those who were told."""
    policy = ctx.policy_of(incident)
    keep_until = at + policy.check_lead
    # Everyone given a task or a notice (e.g. jour told of our blindness) so far.
    told = {role for t in incident.tasks.values() for role in (t.role, policy.step(t.step).role)}
    for task in incident.live_tasks():
        kept_visit = task.action == "physical_visit" and task.check and task.check <= keep_until
        if task.action not in KEEP_ON_RECOVERY and not kept_visit:
            cancel_task(ctx, incident, task, at, reason)
    # Closed from here on: the status reports below say so (the decision follows them).
    incident.updated = incident.closed_at = at
    route = route_named(policy, incident.kind, incident.window)
    told |= set(route.also_tell if route else ())
    status = policy.followups["status_report"]
    for role in sorted(told):
        create_task(ctx, incident, status, at, role=role, reason=reason)
    for step in route.on_recovery if route else ():
        create_task(ctx, incident, step, at, reason=reason)
    if incident.case_number and incident.kind == "single":
        create_task(
            ctx, incident, policy.followups["verify_restored"], at, reason="vendor case open"
        )
    _close(ctx, incident, at, reason)


def route_named(policy: Policy, kind: str, window: str) -> Route | None:
    routes = [r for r in policy.routes if r.kind == kind]
    named = next((r for r in routes if r.window == window), None)
    return named or next((r for r in routes if r.window == OTHERWISE), None)


def _close(ctx: Context, incident: Incident, at: datetime, reason: str) -> None:
    incident.status = INCIDENT_CLOSED
    incident.closed_at = incident.updated = at
    for gateway in incident.gateways:
        home = ctx.state.homes.get(gateway)
        if home is not None and home.incident == incident.id:
            home.incident = None
            ctx.cancel(home.visit_timer)
            home.visit_timer = None
    ctx.decide(at, DecisionEvent.INCIDENT_CLOSED, incident, reason=reason)


def open_blind(ctx: Context, at: datetime, reason: str) -> None:
    """One infrastructure incident while we are blind; never a visit from silence."""
    current = ctx.state.incidents.get(ctx.state.blind_incident or "")
    if current is None or not current.live:
        ctx.state.blind_incident = open_incident(ctx, "infrastructure", [], at, reason).id


def end_blind(ctx: Context, at: datetime) -> bool:
    current = ctx.state.incidents.get(ctx.state.blind_incident or "")
    ctx.state.blind_incident = None
    if current is None or not current.live:
        return False
    recover(ctx, current, at, "monitoring restored")
    ctx.state.blind_ended = at
    return True
