"""Tasks: every human step of the routine (ROUTINE.md "What the product
changes"). A task is created once per (step, home, check) of an incident, is
acknowledged or not, reminded, escalated to its step's escalation target,
handed over when its window ends, and done or cancelled.

Escalation rule (ROUTINE.md "Defaults"): each ``ack_deadline`` without an
acknowledgement gives a reminder, until the holder has had
``reminders_before_escalation`` of them; the next deadline escalates to the
step's target; reminders then go to the target, at most ``max_reminders`` over
the task's life. A notice (``notice = true``) is told once and is done.

Task states (``TRANSITIONS``; anything else is a bug and raises)::

    open ──acknowledge──▶ acknowledged ──handover──▶ open
    open | acknowledged ──done──▶ done        (a notice: open ──told──▶ done)
    open | acknowledged ──cancel─▶ cancelled  (recovery, merge, check confirmed)
"""

from __future__ import annotations

from datetime import datetime

from central.engine import texts
from central.engine.context import Context
from central.engine.effects import DecisionEvent, Notification
from central.engine.model import ACKED, CANCELLED, DONE, OPEN, Incident, Task
from central.errors import EngineError
from central.policy import Step

TRANSITIONS: dict[str, frozenset[str]] = {
    OPEN: frozenset({ACKED, DONE, CANCELLED, OPEN}),
    ACKED: frozenset({OPEN, DONE, CANCELLED}),
    DONE: frozenset(),
    CANCELLED: frozenset(),
}
ACK_TIMER = "ack"
HANDOVER_TIMER = "handover"


def _move(task: Task, status: str) -> None:
    if status not in TRANSITIONS[task.status]:
        raise EngineError(f"task {task.id}: {task.status} -> {status} is not a transition")
    task.status = status


def task_key(step: str, gateway: str | None = None, check: datetime | None = None) -> str:
    """What makes a task unique within an incident: never created twice."""
    parts = [step, gateway or "", check.strftime("%Y%m%dT%H%M%SZ") if check else ""]
    return "/".join(p for p in parts if p)


def create_task(
    ctx: Context,
    incident: Incident,
    step: Step,
    at: datetime,
    *,
    gateway: str | None = None,
    check: datetime | None = None,
    role: str | None = None,
    window_end: datetime | None = None,
    reason: str = "",
    draft: str = "",
) -> Task | None:
    """Create the task unless this incident already has it; ``None`` if it had."""
    key = task_key(step.id if role is None else f"{step.id}/{role}", gateway, check)
    if key in incident.tasks:
        return None
    task = Task(
        id=f"{incident.id}:{key}",
        incident=incident.id,
        step=step.id,
        action=step.action,
        role=role or step.role,
        created=at,
        due=check or at + step.ack_deadline,
        gateway=gateway,
        check=check,
        notice=step.notice,
        draft=draft,
    )
    incident.tasks[key] = task
    ctx.decide(at, DecisionEvent.TASK_CREATED, incident, task, reason=reason)
    notify(ctx, incident, task, DecisionEvent.TASK_CREATED, at, step)
    if step.notice:
        _move(task, DONE)
        return task
    task.timer = ctx.schedule(at + step.ack_deadline, ACK_TIMER, incident=incident.id, task=key)
    if window_end is not None:
        schedule_handover(ctx, incident, task, key, window_end)
    return task


def schedule_handover(
    ctx: Context, incident: Incident, task: Task, key: str, end: datetime
) -> None:
    task.window_end = end
    ctx.schedule(end, HANDOVER_TIMER, incident=incident.id, task=key)


def notify(
    ctx: Context, incident: Incident, task: Task, event: DecisionEvent, at: datetime, step: Step
) -> None:
    home = ctx.registry.get(task.gateway) if task.gateway else None
    subject, body = texts.notification(ctx.policy_of(incident), incident, task, event, home)
    n = task.reminders + (1 if task.escalated else 0)
    ctx.emit(
        Notification(
            key=f"{task.id}:{event.value}:{n}",
            at=at,
            incident=incident.id,
            task=task.id,
            role=task.role,
            action=task.action,
            event=event,
            channels=_channels(ctx, incident, task, step),
            subject=subject,
            body=body,
        )
    )


def _channels(ctx: Context, incident: Incident, task: Task, step: Step) -> tuple[str, ...]:
    if task.role == step.role:
        return step.channels
    source = ctx.policy_of(incident).source
    role_channels = source["roles"].get(task.role, {}).get("channels")
    return tuple(role_channels or source["defaults"]["channels"])


def on_ack_timer(ctx: Context, incident: Incident, key: str, token: str, at: datetime) -> None:
    task = incident.tasks.get(key)
    if task is None or task.timer != token or task.status != OPEN:
        return
    task.timer = None
    step = ctx.policy_of(incident).step(task.step)
    if task.reminders >= step.max_reminders:
        return
    can_escalate = not task.escalated and step.escalate_to != task.role
    if can_escalate and task.reminders >= step.reminders_before_escalation:
        task.role = step.escalate_to
        task.escalated = True
        event = DecisionEvent.ESCALATED
        reason = f"no acknowledgement within {_minutes(step)}; escalated to {step.escalate_to}"
    else:
        task.reminders += 1
        event = DecisionEvent.REMINDER
        reason = f"no acknowledgement within {_minutes(step)}; reminder {task.reminders}"
    ctx.decide(at, event, incident, task, reason=reason)
    notify(ctx, incident, task, event, at, step)
    if task.reminders < step.max_reminders:
        task.timer = ctx.schedule(at + step.ack_deadline, ACK_TIMER, incident=incident.id, task=key)


def _minutes(step: Step) -> str:
    return f"{int(step.ack_deadline.total_seconds() // 60)} min"


def on_handover_timer(
    ctx: Context, incident: Incident, key: str, due: datetime, at: datetime
) -> None:
    """The window the task's owner came from ended with the task still open: the
    owner of the new window takes it over, never a second task (ROUTINE.md)."""
    task = incident.tasks.get(key)
    if task is None or not task.live or task.window_end != due:
        return
    policy = ctx.policy_of(incident)
    match = policy.route_at(incident.kind, at)
    step = match.route.step_for(task.action) if match.route.handover else None
    if step is not None and step.role != task.role:
        task.role = step.role
        task.reminders, task.escalated = 0, False
        reason = f"window {incident.window if task.window is None else task.window} ended"
        task.window = match.window
        ctx.decide(at, DecisionEvent.ESCALATED, incident, task, reason=f"handover: {reason}")
        notify(ctx, incident, task, DecisionEvent.ESCALATED, at, step)
        _move(task, OPEN)  # the new owner acknowledges for itself
        ctx.cancel(task.timer)
        task.timer = ctx.schedule(at + step.ack_deadline, ACK_TIMER, incident=incident.id, task=key)
    end = policy.window_end(match, incident.kind, at)
    if end is not None and end > at:
        schedule_handover(ctx, incident, task, key, end)


def acknowledge(ctx: Context, incident: Incident, task: Task, at: datetime, by: str) -> None:
    if task.status != OPEN:
        return
    _move(task, ACKED)
    ctx.cancel(task.timer)
    task.timer = None
    ctx.decide(
        at, DecisionEvent.ACKNOWLEDGED, incident, task, reason=f"acknowledged by {by or '?'}"
    )


def finish(ctx: Context, incident: Incident, task: Task, at: datetime, reason: str) -> bool:
    """Mark a live task done; ``False`` if it was not live (a repeat changes nothing)."""
    if not task.live:
        return False
    _move(task, DONE)
    ctx.cancel(task.timer)
    task.timer = None
    ctx.decide(at, DecisionEvent.COMPLETED, incident, task, reason=reason)
    return True


def cancel_task(ctx: Context, incident: Incident, task: Task, at: datetime, reason: str) -> None:
    if not task.live:
        return
    _move(task, CANCELLED)
    ctx.cancel(task.timer)
    task.timer = None
    ctx.decide(at, DecisionEvent.CANCELLED, incident, task, reason=reason)
