"""Sign-in, the session cookie, CSRF and the rate limit, through the real app."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from central.store import Home, Store
from central.web.app import create_app
from central.web.reads import Reader
from central.web.settings import WebConfig
from tests.web.conftest import CHEAP, PASSWORD, add_accounts, sign_in


def test_security_session_cookie_is_signed_httponly_and_lax(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        response = client.post(
            "/login",
            data={"username": "user-larmgruppen", "password": PASSWORD},
            follow_redirects=False,
        )
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("dv_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; see the next test
    value = cookie.split(";")[0].split("=", 1)[1]
    assert value.count(".") >= 1  # id.signature


def test_security_cookie_is_secure_over_https_and_when_configured(web_store: Store) -> None:
    add_accounts(web_store)
    app = create_app(None, web_store, WebConfig(), secret="s" * 32, hasher=CHEAP)
    with TestClient(app, base_url="https://dash.example") as client:
        response = client.post(
            "/login",
            data={"username": "user-jour", "password": PASSWORD},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]
    always = create_app(
        None, web_store, WebConfig(cookie_secure="always"), secret="s" * 32, hasher=CHEAP
    )
    with TestClient(always) as client:
        response = client.post(
            "/login",
            data={"username": "user-jour", "password": PASSWORD},
            follow_redirects=False,
        )
        assert "Secure" in response.headers["set-cookie"]


def test_security_forged_cookie_and_wrong_password_are_refused(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        client.cookies.set("dv_session", "made-up.signature")
        assert client.get("/api/me").status_code == 401
        bad = client.post("/login", data={"username": "user-jour", "password": "fel lösenord"})
        assert bad.status_code == 401 and "Fel användarnamn eller lösenord" in bad.text


def test_security_sign_in_is_rate_limited_per_user(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        for _ in range(5):
            client.post("/login", data={"username": "user-jour", "password": "fel lösenord"})
        blocked = client.post("/login", data={"username": "user-jour", "password": PASSWORD})
        assert blocked.status_code == 403 and "För många försök" in blocked.text
        other = client.post(
            "/login",
            data={"username": "user-larmgruppen", "password": PASSWORD},
            follow_redirects=False,
        )
        assert other.status_code == 303


def test_security_api_session_token_works_as_bearer_without_csrf(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        token = client.post(
            "/api/session", json={"username": "user-nattpatrullen", "password": PASSWORD}
        ).json()["token"]
    with TestClient(web_app) as api:
        me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "nattpatrullen"
        # A change without a CSRF header is fine for a bearer client (no browser sends it),
        # and reaches the action, which finds no such task.
        reply = api.post(
            "/api/tasks/nope/ack", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert reply.status_code == 404


def test_security_cookie_session_json_change_needs_the_csrf_header(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        csrf = sign_in(client, "user-nattpatrullen")
        assert client.post("/api/tasks/nope/ack", json={}).status_code == 403
        assert (
            client.post("/api/tasks/nope/ack", json={}, headers={"X-CSRF-Token": csrf}).status_code
            == 404
        )


def test_security_sign_in_redirects_only_to_local_paths(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        for target, expected in (
            ("/visits", "/visits"),
            ("//evil.example/x", "/"),
            ("https://evil.example", "/"),
        ):
            response = client.post(
                "/login",
                data={"username": "user-jour", "password": PASSWORD, "next": target},
                follow_redirects=False,
            )
            assert response.headers["location"] == expected


def test_security_headers_forbid_framing_and_inline_script(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        page = client.get("/login")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert page.headers["cache-control"] == "no-store"


def test_security_openapi_needs_sign_in_and_documents_the_api(web_app: FastAPI) -> None:
    with TestClient(web_app) as client:
        assert client.get("/api/openapi.json").status_code == 401
        assert client.get("/docs").status_code in (303, 404)
        sign_in(client, "user-operator")
        paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/fleet" in paths and "/api/visits/{task_id}/done" in paths
    assert "/api/session" in paths and "/healthz" in paths and "/metrics" in paths
    assert not any(p in paths for p in ("/fleet", "/visits", "/login"))


def test_security_reader_sessions_cannot_write(web_store: Store) -> None:
    reader = Reader(web_store)
    with reader.session() as session:
        assert session.execute(text("SELECT count(*) FROM accounts")).scalar_one() == 0
        with pytest.raises(OperationalError, match="readonly"):
            session.execute(text("DELETE FROM accounts"))
    reader.close()


def test_security_labels_are_escaped_in_pages(web_store: Store) -> None:
    add_accounts(web_store)
    with web_store.session() as session:
        session.add(
            Home(
                tenant="botkyrka",
                gateway="gw-x",
                homecare_group="<b>g</b>",
                active=True,
                label="<script>alert(1)</script>",
            )
        )
    app = create_app(None, web_store, WebConfig(), secret="s" * 32, hasher=CHEAP)
    with TestClient(app) as client:
        sign_in(client, "user-larmgruppen")
        page = client.get("/fleet").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_security_unknown_things_answer_404_pages_in_swedish(
    web_app: FastAPI, clients: Callable[[str], TestClient]
) -> None:
    admin = clients("admin")
    for path in ("/incidents/nope", "/gateways/botkyrka/nope", "/api/incidents/nope"):
        response = admin.get(path)
        assert response.status_code == 404, path
    page = admin.get("/incidents/nope")
    assert "Hittades inte" in page.text and "Logga ut" in page.text
    refused = clients("hemtjanstgrupp").get("/fleet")
    assert refused.status_code == 403 and "Ingen behörighet" in refused.text
    assert "Uppgifter" in refused.text  # the menu, to get back to one's own work
