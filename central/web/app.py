"""The dashboard and JSON API as one FastAPI app (docs/web.md).

``create_app`` wires the store, the central service, accounts and the live
update loop; the routes live in :mod:`central.web.pages` (HTML) and
:mod:`central.web.api` (JSON). Public: ``/login``, ``/healthz``, ``/metrics``
(bearer token when configured), ``/static`` and ``POST /api/session``;
everything else needs a signed-in account with the right role.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from argon2 import PasswordHasher
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from central.errors import ActionError
from central.policy import load_policy
from central.store.db import Store
from central.web import api, demo_inbox, metrics, pages
from central.web.accounts import Accounts, Principal
from central.web.actions import NotFound
from central.web.context import WebContext
from central.web.limiter import AttemptLimiter
from central.web.live import Live
from central.web.reads import Reader
from central.web.roles import Perm
from central.web.security import COOKIE, NotSignedIn, Refused, cookie_value, need, signer
from central.web.settings import WebConfig
from central.web.templating import install_filters

_HERE = Path(__file__).parent
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("POST", "/api/session"),
    }
)
"""Routes that answer without a session (``/static`` is a mount, also public)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _no_counters() -> dict[str, Any]:
    return {}


def _running() -> dict[str, Any]:
    return {"running": True}


def create_app(
    service: Any,
    store: Store,
    settings: WebConfig,
    *,
    secret: str,
    policy: Any = None,
    tenants: list[str] | None = None,
    counters: Callable[[], dict[str, Any]] = _no_counters,
    health: Callable[[], dict[str, Any]] = _running,
    hasher: PasswordHasher | None = None,
    now: Callable[[], datetime] = _utcnow,
) -> FastAPI:
    """Build the app.

    :param service: the central service (``central.service.Service``): staff actions.
    :param Store store: the central store, migrated.
    :param WebConfig settings: the ``[web]`` section.
    :param str secret: signs the session cookie (``web.secret`` or ``links.secret``).
    :param policy: the active ``central.policy.Policy`` (default: the shipped one).
    :param tenants: the tenants served (for "all cameras" reports).
    :param counters: ingest counters for ``/metrics``.
    :param health: the service's health for ``/healthz`` (``running`` must be true).
    :param PasswordHasher hasher: argon2 parameters (tests pass cheaper ones).
    :param now: the clock, aware UTC.
    """
    if policy is None:
        policy = load_policy()
    reader = Reader(store)
    live = Live(reader, settings.live_poll_s, now)
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    install_filters(templates)
    templates.env.globals["demo_inbox"] = settings.demo_inbox is not None
    ctx = WebContext(
        service=service,
        store=store,
        reader=reader,
        policy=policy,
        tenants=list(tenants or []),
        counters=counters,
        health=health,
        accounts=Accounts(store, hasher, reader.session),
        settings=settings,
        limiter=AttemptLimiter(
            settings.login_failures_per_user,
            settings.login_failures_per_address,
            settings.login_window_s,
        ),
        signer=signer(secret),
        templates=templates,
        live=live,
        now=now,
        monotonic=time.monotonic,
    )
    app = FastAPI(
        title="Driftvakt",
        summary="Driftvakt's dashboard API: fleet, incidents, tasks, visits and staff actions.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan,
    )
    app.state.ctx = ctx
    app.middleware("http")(_security_headers)
    _handlers(app)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    _session_routes(app)
    _monitoring_routes(app)
    # Added as plain routes (not include_router) so that ``app.routes`` lists each
    # one: the route test walks that list to prove every route asks for a role.
    app.router.routes.extend([*pages.router.routes, *api.router.routes])
    if settings.demo_inbox is not None:
        app.router.routes.extend(demo_inbox.router.routes)
    _openapi_route(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The live-update loop runs while the app serves."""
    ctx: WebContext = app.state.ctx
    task = asyncio.create_task(ctx.live.run())
    try:
        yield
    finally:
        ctx.live.close()
        await task
        ctx.reader.close()


_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """No framing, no inline script, no caching of pages that may hold labels."""
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.url.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, _exc: NotSignedIn) -> Response:
        if _wants_html(request) and request.method == "GET":
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(f"/login?next={target}", status_code=303)
        return JSONResponse(
            {"detail": "sign in first"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return _problem(request, 403, exc.reason)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _problem(
            request, 404, "Finns inte (den kan ha stängts eller tagits bort).", str(exc)
        )

    @app.exception_handler(ActionError)
    async def _action_error(request: Request, exc: ActionError) -> Response:
        return _problem(request, 409, "Det gick inte att göra just nu.", str(exc))


def _problem(request: Request, status: int, text: str, detail: str = "") -> Response:
    if not _wants_html(request):
        return JSONResponse({"detail": detail or text}, status_code=status)
    ctx: WebContext = request.app.state.ctx
    principal = getattr(request.state, "principal", None)
    return ctx.templates.TemplateResponse(
        request,
        "error.html",
        {
            "text": text,
            "detail": detail,
            "me": principal,
            "status": status,
            "path": request.url.path,
        },
        status_code=status,
    )


def _safe_next(target: str) -> str:
    """Only a local path: ``next`` must not send anyone to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _secure(ctx: WebContext, request: Request) -> bool:
    return ctx.settings.cookie_secure == "always" or request.url.scheme == "https"


def _sign_in(ctx: WebContext, request: Request, username: str, password: str) -> str | None:
    """Rate-limited sign-in; returns the session id or ``None``.

    :raises Refused: while the user name or the address is over its limit.
    """
    address = request.client.host if request.client else "unknown"
    username = username.strip().lower()
    wait = ctx.limiter.retry_after(username, address, ctx.monotonic())
    if wait > 0:
        raise Refused(f"För många försök. Vänta {int(wait) // 60 + 1} minuter.")
    session_id = ctx.accounts.sign_in(
        username, password, now=ctx.now(), lifetime=timedelta(hours=ctx.settings.session_hours)
    )
    if session_id is None:
        ctx.limiter.failed(username, address, ctx.monotonic())
    else:
        ctx.limiter.succeeded(username)
    return session_id


def _session_routes(app: FastAPI) -> None:
    ctx: WebContext = app.state.ctx

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        return ctx.templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "error": "", "me": None}
        )

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        session_id = _sign_in(ctx, request, username, password)
        if session_id is None:
            return ctx.templates.TemplateResponse(
                request,
                "login.html",
                {"next": _safe_next(next), "error": "Fel användarnamn eller lösenord.", "me": None},
                status_code=401,
            )
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE,
            cookie_value(ctx, session_id),
            max_age=int(ctx.settings.session_hours * 3600),
            httponly=True,
            samesite="lax",
            secure=_secure(ctx, request),
            path="/",
        )
        return response

    @app.post("/api/session", tags=["session"])
    async def api_session(request: Request, body: api.Credentials) -> dict[str, str]:
        """Sign in for an API client: returns a token for ``Authorization: Bearer``."""
        session_id = _sign_in(ctx, request, body.username, body.password)
        if session_id is None:
            raise NotSignedIn("wrong user name or password")
        return {"token": session_id, "token_type": "bearer"}

    @app.post("/logout", include_in_schema=False)
    async def logout(principal: Annotated[Principal, Depends(need(None))]) -> Response:
        ctx.accounts.sign_out(principal, now=ctx.now())
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response


def _monitoring_routes(app: FastAPI) -> None:
    ctx: WebContext = app.state.ctx

    @app.get("/healthz", tags=["monitoring"])
    async def healthz() -> Response:
        """Liveness and readiness: the database answers and the service runs."""
        healthy, detail = await asyncio.to_thread(metrics.health, ctx)
        return JSONResponse(detail, status_code=200 if healthy else 503)

    @app.get("/metrics", tags=["monitoring"], response_class=PlainTextResponse)
    async def metrics_page(request: Request) -> Response:
        """Prometheus text format; needs ``Authorization: Bearer`` when a token is set."""
        token = ctx.settings.metrics_token
        if token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse(
                    "bearer token required\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        text = await asyncio.to_thread(metrics.render, ctx)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/events", include_in_schema=False)
    async def events(_p: Annotated[Principal, Depends(need(None))]) -> Response:
        return StreamingResponse(
            ctx.live.stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _openapi_route(app: FastAPI) -> None:
    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(_p: Annotated[Principal, Depends(need(None))]) -> dict[str, Any]:
        return app.openapi()


def new_secret() -> str:
    """A throw-away cookie secret (sessions end when the process does)."""
    return secrets.token_hex(32)


__all__ = ["PUBLIC_ROUTES", "Perm", "create_app", "new_secret"]
