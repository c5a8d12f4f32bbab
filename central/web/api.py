"""The JSON API under ``/api`` (OpenAPI at ``/api/openapi.json``, signed in).

The same read models and actions as the pages. Clients sign in with
``POST /api/session`` and send ``Authorization: Bearer <token>``; a browser
session may call it too, with the ``X-CSRF-Token`` header on every change.
``label`` fields are ``null`` for roles without the ``labels`` permission
(docs/web.md, "Roles").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from central.web import actions, fleet, routine
from central.web.accounts import Principal
from central.web.context import WebContext
from central.web.gateways import gateway_detail
from central.web.policy_view import coverage
from central.web.roles import GRANTS, ROUTINE_ROLES, Perm, allows
from central.web.security import need

router = APIRouter(prefix="/api")
Who = Annotated[Principal, Depends(need(None))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(_Body):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class Comment(_Body):
    comment: str = Field(default="", max_length=2000)


class VisitReport(_Body):
    restarted: bool
    """Whether the devices were restarted at the visit (ROUTINE.md 5a-c)."""
    camera_works: bool | None = None
    """What the digital supervisor saw after it; ``false`` hands over to the alarm group."""
    comment: str = Field(default="", max_length=2000)


class VendorCase(_Body):
    case_number: str = Field(min_length=1, max_length=100)


class FailedCheck(_Body):
    tenant: str = Field(max_length=32)
    gateway: str | None = Field(default=None, max_length=64)
    """``null``: every camera of the tenant failed (the vendor's platform)."""


class PowerCycle(_Body):
    device: Literal["camera", "router", "all"] = "camera"


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


@router.get("/me", tags=["session"])
def me(principal: Who) -> dict[str, Any]:
    """Who is signed in, the role and what it may do."""
    return {
        "username": principal.username,
        "role": principal.role,
        "permissions": sorted(GRANTS.get(principal.role, ())),
        "csrf": principal.csrf,
    }


@router.get("/fleet", tags=["fleet"])
def fleet_list(
    request: Request,
    principal: Annotated[Principal, Depends(need(Perm.FLEET))],
    group: str = "",
    state: str = "",
) -> dict[str, Any]:
    """Every home: router and camera health, last heard, restarts in 24 h; counts by state."""
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        board = fleet.fleet(
            session,
            ctx.now(),
            labels=allows(principal.role, Perm.LABELS),
            group=group or None,
            state=state or None,
        )
    return {"counts": dict(board.counts), "homes": [r.public() for r in board.rows]}


@router.get("/gateways/{tenant}/{gateway}", tags=["fleet"])
def gateway(
    request: Request,
    tenant: str,
    gateway: str,
    principal: Annotated[Principal, Depends(need(Perm.FLEET))],
) -> dict[str, Any]:
    """One gateway: state, event history, commands and incidents."""
    labels = allows(principal.role, Perm.LABELS)
    return gateway_detail(_ctx(request), tenant, gateway, labels=labels).public()


@router.post("/gateways/{tenant}/{gateway}/power-cycle", tags=["fleet"], status_code=202)
def power_cycle(
    request: Request,
    tenant: str,
    gateway: str,
    body: PowerCycle,
    principal: Annotated[Principal, Depends(need(Perm.POWER_CYCLE))],
) -> dict[str, str]:
    """Send a remote power-cycle (``cmd``); the result appears on the gateway later."""
    ctx = _ctx(request)
    gateway_detail(ctx, tenant, gateway, labels=False)
    return {"command": actions.power_cycle(ctx, principal, tenant, gateway, body.device)}


@router.get("/incidents", tags=["incidents"])
def incidents(
    request: Request,
    principal: Annotated[Principal, Depends(need(Perm.INCIDENTS))],
    closed: bool = False,
) -> list[dict[str, Any]]:
    """Open (or closed) incidents, newest first."""
    with _ctx(request).reader.session() as session:
        rows = routine.incidents(session, closed=closed, labels=allows(principal.role, Perm.LABELS))
    return [r.public() for r in rows]


@router.get("/incidents/{incident_id}", tags=["incidents"])
def incident(
    request: Request,
    incident_id: str,
    principal: Annotated[Principal, Depends(need(Perm.INCIDENTS))],
) -> dict[str, Any]:
    """One incident with its tasks, audit timeline and notifications with their delivery."""
    with _ctx(request).reader.session() as session:
        detail = routine.incident(session, incident_id, labels=allows(principal.role, Perm.LABELS))
    if detail is None:
        raise actions.NotFound(f"no such incident {incident_id!r}")
    return detail.public()


@router.post("/incidents/{incident_id}/vendor-case", tags=["incidents"])
def vendor_case(
    request: Request,
    incident_id: str,
    body: VendorCase,
    principal: Annotated[Principal, Depends(need(Perm.VENDOR_CASE))],
) -> dict[str, str]:
    """Record the vendor's case number; the policy forwards it to IT."""
    actions.vendor_case(_ctx(request), principal, incident_id, body.case_number)
    return {"status": "recorded"}


@router.get("/tasks", tags=["tasks"])
def tasks(
    request: Request, principal: Who, role: str = "", all: bool = False
) -> list[dict[str, Any]]:
    """The signed-in role's tasks; roles with ``tasks_all`` may name a role or ``*``."""
    shown: str | None = principal.role if principal.role in ROUTINE_ROLES else None
    if role and allows(principal.role, Perm.TASKS_ALL):
        shown = None if role == "*" else role
    with _ctx(request).reader.session() as session:
        rows = routine.tasks(
            session, role=shown, labels=allows(principal.role, Perm.LABELS), live_only=not all
        )
    return [r.public() for r in rows]


@router.post("/tasks/{task_id:path}/ack", tags=["tasks"])
def acknowledge(request: Request, task_id: str, body: Comment, principal: Who) -> dict[str, str]:
    """Acknowledge a task of one's role: reminders and escalation stop."""
    actions.acknowledge(_ctx(request), principal, task_id, body.comment)
    return {"status": "acknowledged"}


@router.post("/tasks/{task_id:path}/done", tags=["tasks"])
def done(request: Request, task_id: str, body: Comment, principal: Who) -> dict[str, str]:
    """Mark a task done (a journal note filed counts as its task done)."""
    actions.finish(_ctx(request), principal, task_id, body.comment)
    return {"status": "done"}


@router.get("/visits", tags=["visits"])
def visits(
    request: Request, principal: Annotated[Principal, Depends(need(Perm.VISITS))]
) -> dict[str, Any]:
    """Tonight's physical visits (noon to noon, Stockholm): to make, by check time; made."""
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        night = routine.visits(session, ctx.now(), labels=allows(principal.role, Perm.LABELS))
    return {
        "todo": [v.public() for v in night.todo],
        "done": [v.public() for v in night.done],
        "called_off": [v.public() for v in night.called_off],
    }


@router.post("/visits/{task_id:path}/done", tags=["visits"])
def visit_done(
    request: Request,
    task_id: str,
    body: VisitReport,
    principal: Annotated[Principal, Depends(need(Perm.VISIT_DONE))],
) -> dict[str, str]:
    """The visit was made; say whether the devices were restarted."""
    actions.visit_done(
        _ctx(request),
        principal,
        task_id,
        restarted=body.restarted,
        camera_works=body.camera_works,
        comment=body.comment,
    )
    return {"status": "recorded"}


@router.post("/check-failed", tags=["visits"])
def check_failed(
    request: Request,
    body: FailedCheck,
    principal: Annotated[Principal, Depends(need(Perm.CHECK_FAILED))],
) -> dict[str, str]:
    """A digital check failed, for one home or (``gateway: null``) every camera."""
    actions.check_failed(_ctx(request), principal, body.tenant, body.gateway)
    return {"status": "reported"}


@router.get("/policy", tags=["policy"])
def policy(
    request: Request, _p: Annotated[Principal, Depends(need(Perm.POLICY))]
) -> dict[str, Any]:
    """The active policy's weekly coverage: owner per half-hour band, uncovered and overlaps."""
    cov = coverage(_ctx(request).policy)
    return {
        "policy": cov.policy_id,
        "name": cov.policy_name,
        "fallback_role": cov.fallback_role,
        "holiday": cov.holiday,
        "grids": [
            {
                "kind": g.kind,
                "columns": list(g.columns),
                "bands": [
                    {
                        "start": b.start,
                        "end": b.end,
                        "cells": [
                            {"owner": c.owner, "window": c.window, "status": c.status}
                            for c in b.cells
                        ],
                    }
                    for b in g.bands
                ],
            }
            for g in cov.grids
        ],
    }
