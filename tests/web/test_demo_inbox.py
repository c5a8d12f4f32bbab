"""The demo-only page of messages the demo's sinks received: there in the demo, absent otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from central.store import Store
from central.web.app import create_app
from central.web.settings import WebConfig
from sim.sinks import Inbox
from tests.web.conftest import CHEAP, add_accounts, sign_in


def _app(store: Store, inbox: Path | None) -> FastAPI:
    add_accounts(store)
    settings = WebConfig(live_poll_s=0.2, demo_inbox=inbox)
    return create_app(None, store, settings, secret="s" * 32, hasher=CHEAP)


def test_demo_inbox_lists_what_the_sinks_received_newest_first(
    web_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "inbox.jsonl"
    inbox = Inbox(path, lambda: datetime(2027, 1, 12, 13, 47, tzinfo=UTC))
    inbox.add("email", "larmgruppen@botkyrka.example", "[Driftvakt] Ny uppgift", "Kontakta <b>")
    inbox.add("sms", "+46700000102", "från Driftvakt", "Driftvakt: physical_visit gw-07")
    with TestClient(_app(web_store, path)) as client:
        sign_in(client, "user-nattpatrullen")
        page = client.get("/demo/inbox")
        only_sms = client.get("/demo/inbox?channel=sms")
    assert page.status_code == 200
    assert 'href="/demo/inbox"' in page.text
    text = page.text
    assert text.index("physical_visit gw-07") < text.index("[Driftvakt] Ny uppgift")
    assert "Kontakta &lt;b&gt;" in text
    assert ">tis 12 jan 14:47</time>" in text  # Stockholm time on screen (13:47 UTC)
    assert "[Driftvakt] Ny uppgift" not in only_sms.text
    assert "physical_visit gw-07" in only_sms.text


def test_demo_inbox_does_not_exist_outside_the_demo(web_store: Store) -> None:
    with TestClient(_app(web_store, None)) as client:
        sign_in(client, "user-admin")
        assert client.get("/demo/inbox").status_code == 404
        assert 'href="/demo/inbox"' not in client.get("/fleet").text


def test_demo_inbox_needs_a_signed_in_account(web_store: Store, tmp_path: Path) -> None:
    with TestClient(_app(web_store, tmp_path / "inbox.jsonl")) as client:
        response = client.get("/demo/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
