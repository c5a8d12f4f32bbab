"""The staff's pages: server-rendered HTML in Swedish (docs/web.md, "Pages").

Every page re-renders its ``<main>`` as a fragment when asked with the
``X-Fragment: 1`` header; the page's script does that when the live stream
says one of the page's topics changed. Forms post back here and redirect
(303) with a fixed ``ok`` code that the page shows as a Swedish message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from central.errors import ActionError
from central.web import actions, fleet, routine
from central.web.accounts import Principal
from central.web.context import WebContext
from central.web.gateways import gateway_detail
from central.web.policy_view import coverage
from central.web.roles import ROUTINE_ROLES, Perm, allows
from central.web.security import need

router = APIRouter(include_in_schema=False)
Who = Annotated[Principal, Depends(need(None))]

MESSAGES = {
    "ack": "Uppgiften är kvitterad.",
    "done": "Uppgiften är markerad som klar.",
    "visit": "Besöket är registrerat.",
    "journal": "Journalanteckningen är markerad som införd.",
    "vendor": "Ärendenumret är sparat och skickas vidare till IT.",
    "check": "Den misslyckade kontrollen är rapporterad.",
    "cycle": "Omstarten är skickad till gatewayen. Resultatet visas nedan.",
}
_HOME = (
    (Perm.VISITS, "nattpatrullen", "/visits"),
    (Perm.CHECK_FAILED, "digital_tillsyn", "/check-failed"),
)


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


def render(request: Request, me: Principal, name: str, topics: str, **context: Any) -> Response:
    """A page, or only its ``<main>`` when the live script asks for a fragment."""
    ok = request.query_params.get("ok", "")
    return _ctx(request).templates.TemplateResponse(
        request,
        name,
        {
            "me": me,
            "fragment": request.headers.get("x-fragment") == "1",
            "topics": topics,
            "message": MESSAGES.get(ok, ""),
            "path": request.url.path,
            **context,
        },
        headers={"Cache-Control": "no-store"},
    )


def back(target: str, ok: str) -> Response:
    """Redirect after a post, to a local path only."""
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}ok={ok}", status_code=303)


@router.get("/")
def home(me: Who) -> Response:
    for perm, role, target in _HOME:
        if me.role == role and allows(me.role, perm):
            return RedirectResponse(target, status_code=303)
    if allows(me.role, Perm.FLEET):
        return RedirectResponse("/fleet", status_code=303)
    return RedirectResponse("/tasks", status_code=303)


@router.get("/fleet")
def fleet_page(
    request: Request,
    me: Annotated[Principal, Depends(need(Perm.FLEET))],
    group: str = "",
    state: str = "",
) -> Response:
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        board = fleet.fleet(
            session,
            ctx.now(),
            labels=allows(me.role, Perm.LABELS),
            group=group or None,
            state=state or None,
        )
    return render(request, me, "fleet.html", "fleet", board=board, group=group, state=state)


@router.get("/gateways/{tenant}/{gateway}")
def gateway_page(
    request: Request,
    tenant: str,
    gateway: str,
    me: Annotated[Principal, Depends(need(Perm.FLEET))],
    confirm: str = "",
) -> Response:
    ctx = _ctx(request)
    detail = gateway_detail(ctx, tenant, gateway, labels=allows(me.role, Perm.LABELS))
    confirm = confirm if confirm in actions.DEVICES and allows(me.role, Perm.POWER_CYCLE) else ""
    return render(request, me, "gateway.html", "fleet commands", d=detail, confirm=confirm)


@router.post("/gateways/{tenant}/{gateway}/power-cycle")
def power_cycle(
    request: Request,
    tenant: str,
    gateway: str,
    me: Annotated[Principal, Depends(need(Perm.POWER_CYCLE))],
    device: Annotated[str, Form()],
) -> Response:
    ctx = _ctx(request)
    gateway_detail(ctx, tenant, gateway, labels=False)  # 404 for an unknown gateway
    actions.power_cycle(ctx, me, tenant, gateway, device)
    return back(f"/gateways/{tenant}/{gateway}", "cycle")


@router.get("/incidents")
def incidents_page(
    request: Request, me: Annotated[Principal, Depends(need(Perm.INCIDENTS))], closed: int = 0
) -> Response:
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        rows = routine.incidents(session, closed=bool(closed), labels=allows(me.role, Perm.LABELS))
    return render(request, me, "incidents.html", "routine", rows=rows, closed=bool(closed))


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, incident_id: str, me: Annotated[Principal, Depends(need(Perm.INCIDENTS))]
) -> Response:
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        detail = routine.incident(session, incident_id, labels=allows(me.role, Perm.LABELS))
    if detail is None:
        raise actions.NotFound(f"no such incident {incident_id!r}")
    return render(request, me, "incident.html", "routine", d=detail)


@router.post("/incidents/{incident_id}/vendor-case")
def vendor_case(
    request: Request,
    incident_id: str,
    me: Annotated[Principal, Depends(need(Perm.VENDOR_CASE))],
    case_number: Annotated[str, Form(max_length=100)],
) -> Response:
    actions.vendor_case(_ctx(request), me, incident_id, case_number)
    return back(f"/incidents/{incident_id}", "vendor")


@router.get("/tasks")
def tasks_page(request: Request, me: Who, role: str = "", all: int = 0) -> Response:
    """ "Mine" by default; roles that see every task may pick one role or ``*``."""
    ctx = _ctx(request)
    every = allows(me.role, Perm.TASKS_ALL)
    shown: str | None = me.role if me.role in ROUTINE_ROLES else None
    if every and role:
        shown = None if role == "*" else role
    with ctx.reader.session() as session:
        rows = routine.tasks(
            session, role=shown, labels=allows(me.role, Perm.LABELS), live_only=not all
        )
    return render(
        request, me, "tasks.html", "routine", rows=rows, shown=shown, every=every, all=bool(all)
    )


@router.post("/tasks/{task_id:path}/ack")
def task_ack(
    request: Request,
    task_id: str,
    me: Who,
    comment: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form()] = "/tasks",
) -> Response:
    actions.acknowledge(_ctx(request), me, task_id, comment)
    return back(next, "ack")


@router.post("/tasks/{task_id:path}/done")
def task_done(
    request: Request,
    task_id: str,
    me: Who,
    comment: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form()] = "/tasks",
) -> Response:
    actions.finish(_ctx(request), me, task_id, comment)
    return back(next, "journal" if next.startswith("/visits") else "done")


@router.get("/visits")
def visits_page(request: Request, me: Annotated[Principal, Depends(need(Perm.VISITS))]) -> Response:
    ctx = _ctx(request)
    now = ctx.now()
    with ctx.reader.session() as session:
        night = routine.visits(session, now, labels=allows(me.role, Perm.LABELS))
        # The home as last reported, so that whoever drives out sees the camera come
        # back, or sees that the gateway itself is silent (then its report is stale).
        homes = {
            (h.tenant, h.gateway): h
            for h in fleet.homes(session, now, labels=False)
            if any(v.row.task.gateway == h.gateway for v in night.todo)
        }
    return render(
        request,
        me,
        "visits.html",
        "routine fleet",
        todo=night.todo,
        done=night.done,
        called_off=night.called_off,
        homes=homes,
    )


@router.post("/visits/{task_id:path}/done")
def visit_done(
    request: Request,
    task_id: str,
    me: Annotated[Principal, Depends(need(Perm.VISIT_DONE))],
    restarted: Annotated[str, Form(pattern="^(yes|no)$")],
    camera_works: Annotated[str, Form(pattern="^(yes|no|)$")] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    works = {"yes": True, "no": False}.get(camera_works)
    actions.visit_done(
        _ctx(request),
        me,
        task_id,
        restarted=restarted == "yes",
        camera_works=works,
        comment=comment,
    )
    return back("/visits", "visit")


@router.get("/check-failed")
def check_failed_page(
    request: Request,
    me: Annotated[Principal, Depends(need(Perm.CHECK_FAILED))],
    target: str = "",
) -> Response:
    ctx = _ctx(request)
    with ctx.reader.session() as session:
        homes = fleet.homes(session, ctx.now(), labels=allows(me.role, Perm.LABELS))
    homes = sorted(
        (h for h in homes if h.registered and h.active),
        key=lambda h: (h.group, h.label or "", h.gateway),
    )
    chosen = next((h for h in homes if f"{h.tenant}/{h.gateway}" == target), None)
    tenants = ctx.tenants or sorted({h.tenant for h in homes})
    everyone = target.startswith("all:") and target[4:] in tenants
    return render(
        request,
        me,
        "check_failed.html",
        "fleet",
        homes=homes,
        chosen=chosen,
        everyone=target[4:] if everyone else "",
        tenants=tenants,
    )


@router.post("/check-failed")
def check_failed(
    request: Request,
    me: Annotated[Principal, Depends(need(Perm.CHECK_FAILED))],
    tenant: Annotated[str, Form(max_length=32)],
    gateway: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    actions.check_failed(_ctx(request), me, tenant, gateway or None)
    return back("/check-failed", "check")


@router.get("/policy")
def policy_page(request: Request, me: Annotated[Principal, Depends(need(Perm.POLICY))]) -> Response:
    grid = coverage(_ctx(request).policy)
    return render(request, me, "policy.html", "", grid=grid)


def _task_of(ctx: WebContext, token: str) -> str:
    try:
        task_id: str = ctx.service.links.task_of(token)
    except ActionError:
        raise actions.NotFound(
            "Länken är ogiltig eller har gått ut. Öppna uppgiften i listan."
        ) from None
    return task_id


@router.get("/ack/{token}")
def ack_link_page(request: Request, token: str, me: Who) -> Response:
    """The signed link in an SMS or e-mail: sign in, see the task, then acknowledge."""
    ctx = _ctx(request)
    task_id = _task_of(ctx, token)
    with ctx.reader.session() as session:
        row = routine.task_row(session, task_id, labels=allows(me.role, Perm.LABELS))
    if row is None:
        raise actions.NotFound(f"no task {task_id!r}")
    return render(request, me, "ack.html", "routine", row=row, token=token)


@router.post("/ack/{token}")
def ack_link(request: Request, token: str, me: Who) -> Response:
    ctx = _ctx(request)
    actions.acknowledge(ctx, me, _task_of(ctx, token))
    return back("/tasks", "ack")
