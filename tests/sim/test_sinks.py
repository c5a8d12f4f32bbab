"""The demo's sinks against the central service's own channels: what goes out arrives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from central.config import SmsConfig, SmtpConfig, WebhookConfig
from central.errors import DeliveryError
from central.notify import ElksSms, EmailChannel, SmsChannel, WebhookChannel
from central.notify.channels import Outgoing
from sim.sinks import Inbox, MailSink, SmsSink

NOW = datetime(2027, 1, 12, 13, 0, tzinfo=UTC)


def _message(to: str) -> Outgoing:
    return Outgoing("key-1", "botkyrka", to, "[Driftvakt] Ny uppgift", "Kontakta hemtjänsten.")


def test_sinks_capture_email_sms_and_webhook_into_the_inbox_file(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.jsonl", lambda: NOW)
    mail = MailSink(inbox).start()
    sms = SmsSink(inbox, "u-demo", "secret-1").start()
    try:
        smtp = SmtpConfig(host="127.0.0.1", port=mail.port, security="none")
        EmailChannel(smtp).send(_message("larm@botkyrka.example"))
        elks = SmsConfig(url=sms.url, username="u-demo", password="secret-1")
        SmsChannel(ElksSms(elks)).send(_message("+46700000101"))
        WebhookChannel(WebhookConfig(url=sms.webhook_url)).send(_message("natt"))
    finally:
        mail.stop()
        sms.stop()
    got = [(m.channel, m.to, m.body.strip()) for m in inbox.messages()]
    assert got == [
        ("email", "larm@botkyrka.example", "Kontakta hemtjänsten."),
        ("sms", "+46700000101", "Kontakta hemtjänsten."),
        ("webhook", "natt", "Kontakta hemtjänsten."),
    ]
    lines = [json.loads(line) for line in (tmp_path / "inbox.jsonl").read_text().splitlines()]
    assert [line["channel"] for line in lines] == ["email", "sms", "webhook"]
    assert lines[0]["subject"] == "[Driftvakt] Ny uppgift"
    assert lines[0]["at"] == NOW.isoformat()


def test_sinks_sms_refuses_wrong_credentials_as_46elks_does() -> None:
    inbox = Inbox(None, lambda: NOW)
    sms = SmsSink(inbox, "u-demo", "secret-1").start()
    try:
        elks = SmsConfig(url=sms.url, username="u-demo", password="wrong")
        with pytest.raises(DeliveryError):
            SmsChannel(ElksSms(elks)).send(_message("+46700000101"))
    finally:
        sms.stop()
    assert inbox.messages() == []
