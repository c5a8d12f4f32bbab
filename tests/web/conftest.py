"""Fixtures of the web tests: the real store on SQLite, the real app, and one
signed-in client per role (signed in through ``POST /login`` itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from central.store import Store
from central.web.accounts import Accounts
from central.web.app import create_app
from central.web.roles import ROLES
from central.web.settings import WebConfig
from tests.central.conftest import db_url, sms, smtp, store

__all__ = ["db_url", "sms", "smtp", "store"]  # both databases; real SMTP and SMS servers

PASSWORD = "ett långt lösenord"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""argon2 at test strength: the production parameters cost 64 MiB per hash."""


@pytest.fixture
def web_store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'central.db'}")
    db.upgrade()
    yield db
    db.close()


def add_accounts(store: Store) -> None:
    """One account per role, named after it (``user-<role>``), plus a disabled one."""
    accounts = Accounts(store, CHEAP)
    now = datetime.now(UTC)
    for role in ROLES:
        accounts.add(f"user-{role}", role, PASSWORD, now=now, by="test")
    accounts.add("user-gone", "admin", PASSWORD, now=now, by="test")


@pytest.fixture
def web_app(web_store: Store, tmp_path: Path) -> FastAPI:
    """The app over the real store, with no central service behind it: enough for
    everything that must be refused before any action reaches the service. The demo's
    inbox page is switched on, so that the route tests cover every route there is."""
    add_accounts(web_store)
    settings = WebConfig(live_poll_s=0.2, demo_inbox=tmp_path / "inbox.jsonl")
    return create_app(None, web_store, settings, secret="s" * 32, hasher=CHEAP)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    csrf = client.get("/api/me").json()["csrf"]
    assert isinstance(csrf, str)
    return csrf


@pytest.fixture
def clients(web_app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """``clients(role)``: a client signed in as that role's account."""
    made: dict[str, TestClient] = {}

    def make(role: str) -> TestClient:
        if role not in made:
            client = TestClient(web_app)  # no lifespan: the live loop is not needed here
            sign_in(client, f"user-{role}")
            made[role] = client
        return made[role]

    yield make
    for client in made.values():
        client.close()


def fill(path: str, **values: Any) -> str:
    """A route's path with every ``{param}`` filled in."""
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            path = path.replace(part, str(values.get(part[1:-1], "x")))
    return path
