"""Staff actions, shared by the pages and the JSON API.

Each checks what the route's permission cannot (whose task it is), hands the
action to the central service (which feeds the engine and writes the audit
log in the decision's transaction), and wakes the live-update loop. A comment
typed with an action is audited here, with who and when, as its own entry.
"""

from __future__ import annotations

from central.errors import ActionError
from central.store import audit
from central.store.models import Incident, Task
from central.web.accounts import Principal
from central.web.context import WebContext
from central.web.roles import Perm, allows
from central.web.security import Refused

DEVICES = ("camera", "router", "all")


class NotFound(ActionError, LookupError):
    """The task, incident or gateway named in the request does not exist."""


def _task(ctx: WebContext, principal: Principal, task_id: str, actions: set[str] | None) -> Task:
    with ctx.reader.session() as session:
        task = session.get(Task, task_id)
        if task is None or (actions is not None and task.action not in actions):
            raise NotFound(f"no such task {task_id!r}")
        if task.role != principal.role and not allows(principal.role, Perm.TASK_ANY):
            raise Refused("Uppgiften hör till en annan roll.")
        return task


def _comment(ctx: WebContext, principal: Principal, task: Task, action: str, text: str) -> None:
    text = text.strip()
    if not text:
        return
    with ctx.store.session() as session:
        audit.record(
            session,
            at=ctx.now(),
            tenant=task.tenant,
            kind="human",
            actor=principal.username,
            incident_id=task.incident_id,
            detail={"action": "comment", "on": action, "task": task.id, "comment": text[:2000]},
        )


def acknowledge(ctx: WebContext, principal: Principal, task_id: str, comment: str = "") -> None:
    """The person takes the task: reminders and escalation stop."""
    task = _task(ctx, principal, task_id, None)
    ctx.service.acknowledge(task.id, by=principal.username)
    _comment(ctx, principal, task, "acknowledge", comment)
    ctx.live.poke()


def finish(ctx: WebContext, principal: Principal, task_id: str, comment: str = "") -> None:
    """The task is done (a journal note filed, the home-care group contacted...)."""
    task = _task(ctx, principal, task_id, None)
    if task.action == "physical_visit":
        raise ActionError("a visit is marked done with whether the devices were restarted")
    ctx.service.task_done(task.id, by=principal.username)
    _comment(ctx, principal, task, "done", comment)
    ctx.live.poke()


def visit_done(
    ctx: WebContext,
    principal: Principal,
    task_id: str,
    *,
    restarted: bool,
    camera_works: bool | None,
    comment: str = "",
) -> None:
    """The night patrol made the visit (ROUTINE.md steps 4-5)."""
    if not allows(principal.role, Perm.VISIT_DONE):
        raise Refused("Din roll kan inte registrera besök.")
    task = _task(ctx, principal, task_id, {"physical_visit"})
    ctx.service.visit_done(
        task.id, by=principal.username, restarted=restarted, camera_works=camera_works
    )
    _comment(ctx, principal, task, "visit_done", comment)
    ctx.live.poke()


def vendor_case(ctx: WebContext, principal: Principal, incident_id: str, case_number: str) -> None:
    """The vendor's case number; the policy forwards it to IT (ROUTINE.md T7, E1a, E2a)."""
    case_number = case_number.strip()
    if not case_number or len(case_number) > 100:
        raise ActionError("give the vendor's case number (1-100 characters)")
    with ctx.reader.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"no such incident {incident_id!r}")
        tenant = incident.tenant
    ctx.service.vendor_case(tenant, incident_id, case_number, by=principal.username)
    ctx.live.poke()


def check_failed(ctx: WebContext, principal: Principal, tenant: str, gateway: str | None) -> None:
    """A failed digital check for one home, or for every camera (``gateway=None``)."""
    if tenant not in ctx.tenants:
        raise NotFound(f"tenant {tenant!r} is not served here")
    ctx.service.report_failed_check(tenant, gateway, by=principal.username)
    ctx.live.poke()


def power_cycle(
    ctx: WebContext, principal: Principal, tenant: str, gateway: str, device: str
) -> str:
    """Send ``power_cycle`` to a gateway; returns the command id (its result comes later)."""
    if device not in DEVICES:
        raise ActionError(f"device must be one of {', '.join(DEVICES)}")
    command_id: str = ctx.service.power_cycle(tenant, gateway, device, by=principal.username)
    ctx.live.poke()
    return command_id
