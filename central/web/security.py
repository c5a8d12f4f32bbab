"""Who is asking, and may they: the session cookie, bearer tokens, CSRF and roles.

Every route but the public ones (docs/web.md) takes ``Depends(need(perm))``.
It resolves the person from the ``dv_session`` cookie (its value is the
session id signed with itsdangerous, so junk is refused before the database)
or from ``Authorization: Bearer <session id>`` (API clients sign in through
``POST /api/session``). A state-changing request authenticated by the cookie
must carry the session's CSRF token, as the form field ``csrf`` or the header
``X-CSRF-Token``; a bearer request needs none, since no browser sends that
header by itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request
from itsdangerous import BadSignature, Signer

from central.web.accounts import Principal
from central.web.context import WebContext
from central.web.errors import AccountError
from central.web.roles import Perm, allows

COOKIE = "dv_session"
_SAFE = {"GET", "HEAD", "OPTIONS"}


class NotSignedIn(AccountError, PermissionError):
    """No valid session: pages redirect to sign-in, the API answers 401."""


class Refused(AccountError, PermissionError):
    """Signed in, but not allowed (403); ``reason`` is shown in Swedish."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signer(secret: str) -> Signer:
    """The cookie signer; the salt keeps it apart from other uses of the secret."""
    return Signer(secret, salt="driftvakt-web-session")


def cookie_value(ctx: WebContext, session_id: str) -> str:
    return ctx.signer.sign(session_id).decode()


def _session_id(ctx: WebContext, request: Request) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), True
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None, False
    try:
        return ctx.signer.unsign(raw).decode(), False
    except BadSignature:
        return None, False


async def _csrf_ok(request: Request, principal: Principal) -> bool:
    sent = request.headers.get("x-csrf-token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        field = (await request.form()).get("csrf")
        sent = field if isinstance(field, str) else None
    return sent is not None and hmac.compare_digest(sent, principal.csrf)


def need(perm: Perm | None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in person, who must hold ``perm`` (``None``: any role)."""

    async def dependency(request: Request) -> Principal:
        ctx: WebContext = request.app.state.ctx
        session_id, bearer = _session_id(ctx, request)
        principal = ctx.accounts.resolve(session_id, now=ctx.now()) if session_id else None
        if principal is None:
            raise NotSignedIn("sign in first")
        request.state.principal = principal  # the error page shows the menu too
        if request.method not in _SAFE and not bearer and not await _csrf_ok(request, principal):
            raise Refused("Formuläret hade gått ut. Ladda om sidan och försök igen.")
        if perm is not None and not allows(principal.role, perm):
            raise Refused("Din roll har inte behörighet till detta.")
        return principal

    dependency.perm = perm  # type: ignore[attr-defined]
    return dependency


def may(principal: Principal, perm: Perm) -> bool:
    """For templates and views: whether the signed-in role holds ``perm``."""
    return allows(principal.role, perm)
