"""Every route, found by walking the app (not a hand-kept list), refuses the
wrong people: anonymous requests, stale sessions, roles without the route's
permission, and form posts without the session's CSRF token."""

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from central.store import Store
from central.web.accounts import Accounts
from central.web.app import PUBLIC_ROUTES
from central.web.roles import ROLES, Perm, allows
from tests.web.conftest import CHEAP, fill, sign_in

_UNSET = object()


def _perm(route: APIRoute) -> object:
    """The permission a route asks for through ``need(...)``; ``_UNSET`` if none."""
    for dep in route.dependant.dependencies:
        if dep.call is not None and hasattr(dep.call, "perm"):
            return dep.call.perm
    return _UNSET


def _routes(app: FastAPI) -> list[tuple[str, str, object]]:
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods or ()):
            if (method, route.path) not in PUBLIC_ROUTES:
                found.append((method, route.path, _perm(route)))
    return found


def _refused_anonymously(client: TestClient, method: str, path: str) -> bool:
    response = client.request(method, fill(path), follow_redirects=False)
    if response.status_code == 303:
        return str(response.headers["location"]).startswith("/login")
    return bool(response.status_code == 401)


def test_routes_all_ask_for_a_permission(web_app: FastAPI) -> None:
    routes = _routes(web_app)
    assert len(routes) > 30
    assert [(m, p) for m, p, perm in routes if perm is _UNSET] == []


def test_routes_refuse_anonymous_requests(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        wrong = [(m, p) for m, p, _ in _routes(web_app) if not _refused_anonymously(client, m, p)]
    assert wrong == []


def test_routes_refuse_roles_without_the_permission(
    web_app: FastAPI, clients: Callable[[str], TestClient]
) -> None:
    checked, wrong = 0, []
    for method, path, perm in _routes(web_app):
        if not isinstance(perm, Perm):
            continue
        for role in ROLES:
            if allows(role, perm):
                continue
            client = clients(role)
            csrf = client.get("/api/me").json()["csrf"]
            response = client.request(
                method, fill(path), headers={"X-CSRF-Token": csrf}, follow_redirects=False
            )
            checked += 1
            if response.status_code != 403:
                wrong.append((method, path, role, response.status_code))
    assert wrong == []
    assert checked > 50


def test_routes_open_to_every_role_refuse_a_stale_session(
    web_app: FastAPI, web_store: Store
) -> None:
    """Routes for any signed-in role: a session whose account was disabled is refused."""
    with TestClient(web_app) as client:
        sign_in(client, "user-gone")
        Accounts(web_store, CHEAP).disable("user-gone", now=datetime.now(UTC), by="test")
        wrong = [
            (m, p)
            for m, p, perm in _routes(web_app)
            if perm is None and not _refused_anonymously(client, m, p)
        ]
    assert wrong == []


def test_routes_refuse_posts_without_the_csrf_token(
    web_app: FastAPI, clients: Callable[[str], TestClient]
) -> None:
    admin = clients("admin")
    posts = [(m, p) for m, p, _ in _routes(web_app) if m in {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(posts) > 10
    wrong = []
    for method, path in posts:
        for data in ({}, {"csrf": "forged"}):
            response = admin.request(method, fill(path), data=data, follow_redirects=False)
            if response.status_code != 403 or "Formuläret" not in response.text:
                wrong.append((method, path, data, response.status_code))
    assert wrong == []
