"""Human input: acknowledgements, tasks done, visits done, vendor case numbers
and the digital supervisor's reports (ROUTINE.md steps 4-9). Each names its
task by id or by (home, action, check); an unknown one raises
:class:`~central.errors.UnknownTask` and changes nothing."""

from __future__ import annotations

from datetime import datetime

from central.engine import texts
from central.engine.context import Context
from central.engine.effects import DecisionEvent, Notification
from central.engine.homes import failing_reason
from central.engine.incidents import (
    home_of,
    home_recovered,
    live_incident,
    open_incident,
    open_outage,
)
from central.engine.inputs import (
    Acknowledge,
    CheckFailed,
    CheckWorked,
    TaskDone,
    TaskRef,
    VendorCaseNumber,
    VisitDone,
)
from central.engine.model import Incident, Task
from central.engine.tasks import acknowledge, cancel_task, create_task, finish
from central.engine.visits import add_reported_visit
from central.errors import UnknownTask


def find_task(ctx: Context, ref: TaskRef) -> tuple[Incident, Task]:
    incidents = ctx.state.incidents
    if ref.incident is not None:
        candidates = [incidents[ref.incident]] if ref.incident in incidents else []
    else:
        candidates = list(reversed(incidents.values()))
    for incident in candidates:
        for task in incident.tasks.values():
            if _matches(task, ref):
                return incident, task
    raise UnknownTask(f"no task matches {ref}")


def _matches(task: Task, ref: TaskRef) -> bool:
    if ref.task is not None:
        return task.id == ref.task
    return (
        task.action == ref.action
        and (ref.gateway is None or task.gateway == ref.gateway)
        and (ref.check is None or task.check == ref.check)
        and task.live
    )


def on_acknowledge(ctx: Context, item: Acknowledge) -> None:
    incident, task = find_task(ctx, item.ref)
    acknowledge(ctx, incident, task, item.at, item.by)


def on_task_done(ctx: Context, item: TaskDone) -> None:
    incident, task = find_task(ctx, item.ref)
    if not finish(ctx, incident, task, item.at, f"done by {item.by or '?'} {item.outcome}".strip()):
        return
    followups = ctx.policy_of(incident).followups
    if task.action == "contact_homecare" and item.outcome == "no_visit_planned":
        create_task(
            ctx,
            incident,
            followups["site_restart"],
            item.at,
            gateway=task.gateway,
            reason="no home-care visit planned (T2)",
        )
    if task.action == "handover":
        _vendor_report(ctx, incident, task.gateway, item.at)


def _vendor_report(ctx: Context, incident: Incident, gateway: str | None, at: datetime) -> None:
    policy = ctx.policy_of(incident)
    homes = [h for h in [ctx.registry.get(gateway or "")] if h is not None]
    draft = texts.vendor_report(policy, incident, homes)
    create_task(
        ctx,
        incident,
        policy.followups["vendor_report"],
        at,
        gateway=gateway,
        draft=draft,
        reason="alarm group took over the case (T7)",
    )


def on_visit_done(ctx: Context, item: VisitDone) -> None:
    incident, task = find_task(ctx, item.ref)
    restart = "with restart" if item.restarted else "without restart"
    if not finish(ctx, incident, task, item.at, f"visit done {restart} by {item.by or '?'}"):
        return
    policy = ctx.policy_of(incident)
    note = texts.journal_note(policy, incident, task, item.restarted, item.at)
    create_task(
        ctx,
        incident,
        policy.followups["journal_note"],
        item.at,
        gateway=task.gateway,
        check=task.check,
        role=None,
        draft=note,
        reason="visit made: file the note (T4)",
    )
    if item.camera_works is False:
        create_task(
            ctx,
            incident,
            policy.followups["handover"],
            item.at,
            gateway=task.gateway,
            reason="camera still not working after the visit (T6)",
        )


def on_vendor_case(ctx: Context, item: VendorCaseNumber) -> None:
    incident = _incident_for(ctx, item.incident, item.gateway)
    incident.case_number = item.case_number
    for task in incident.live_tasks():
        if task.action == "vendor_report":
            finish(ctx, incident, task, item.at, f"vendor case {item.case_number}")
    policy = ctx.policy_of(incident)
    it_role = next(
        (s.role for s in policy.steps.values() if s.action == "it_ownership"), policy.fallback_role
    )
    ctx.emit(
        Notification(
            key=f"{incident.id}:case:{item.case_number}",
            at=item.at,
            incident=incident.id,
            task=None,
            role=it_role,
            action="vendor_report",
            event=DecisionEvent.COMPLETED,
            channels=("email",),
            subject=f"Ärendenummer {item.case_number} hos leverantören",
            body=f"För kännedom: felanmälan för incident {incident.id} har ärendenummer "
            f"{item.case_number}.",
        )
    )
    ctx.touch(incident)


def _incident_for(ctx: Context, incident_id: str | None, gateway: str | None) -> Incident:
    if incident_id is not None and incident_id in ctx.state.incidents:
        return ctx.state.incidents[incident_id]
    home = ctx.state.homes.get(gateway or "")
    incident = live_incident(ctx, home) if home else None
    if incident is None:
        raise UnknownTask(f"no open incident for incident={incident_id} gateway={gateway}")
    return incident


def on_check_failed(ctx: Context, item: CheckFailed) -> None:
    if item.gateway is None:
        _all_failed(ctx, item)
        return
    entry = ctx.registry.get(item.gateway)
    if entry is None or not entry.active:
        raise UnknownTask(f"gateway {item.gateway} is not an active home in the registry")
    home = home_of(ctx, item.gateway)
    home.human_reported = True
    incident = live_incident(ctx, home) or open_outage(ctx, item.gateway, item.at, "check_failed")
    add_reported_visit(ctx, incident, home, item.check or item.at, item.at)


def _all_failed(ctx: Context, item: CheckFailed) -> None:
    """Every camera failed (the vendor's platform): one extensive incident."""
    members, singles = [], {}
    for entry in ctx.registry.active():
        home = home_of(ctx, entry.gateway)
        home.human_reported = True
        incident = live_incident(ctx, home)
        if incident is None or incident.kind == "single":
            members.append(entry.gateway)
        if incident is not None and incident.kind == "single":
            singles[incident.id] = incident
    if members:
        open_incident(
            ctx, "extensive", members, item.at, "check_failed_all", absorb=list(singles.values())
        )


def on_check_worked(ctx: Context, item: CheckWorked) -> None:
    home = home_of(ctx, item.gateway)
    home.human_reported = False
    for incident in reversed(list(ctx.state.incidents.values())):
        for task in incident.live_tasks():
            if (
                task.action == "physical_visit"
                and task.gateway == item.gateway
                and task.check == item.check
            ):
                cancel_task(
                    ctx, incident, task, item.at, "digital supervisor confirmed the check worked"
                )
    entry = ctx.registry.get(item.gateway)
    if live_incident(ctx, home) and entry and failing_reason(home, entry.relay) is None:
        home_recovered(ctx, home, item.at)
