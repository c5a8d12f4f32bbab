"""Delivery channels of the outbox worker: e-mail (SMTP), SMS (HTTP API),
JSON webhook and MQTT. Each ``send`` delivers one message or raises
:class:`DeliveryError`, saying whether a retry may help; the worker does the
retrying. The idempotency key goes with every message (Message-ID, header)
so that a receiver can drop the duplicate that a crash between sending and
marking may cause.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import requests

from central.config import SmsConfig, SmtpConfig, WebhookConfig
from central.errors import DeliveryError


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a channel needs of an outbox row."""

    key: str
    tenant: str
    recipient: str
    subject: str
    body: str
    incident_id: str | None = None
    task_id: str | None = None


class Channel(Protocol):
    def send(self, message: Outgoing) -> None: ...


def message_id(key: str) -> str:
    """A stable Message-ID from the idempotency key: a resend carries the same one."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@driftvakt>"


class EmailChannel:
    """SMTP with STARTTLS, implicit TLS or none, and optional authentication."""

    def __init__(self, config: SmtpConfig, context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._context = context or ssl.create_default_context()

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"] = self._config.from_addr
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id(message.key)
        mail["Date"] = formatdate(localtime=False)
        mail["X-Driftvakt-Key"] = message.key
        mail.set_content(message.body)
        try:
            with self._connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        c = self._config
        smtp: smtplib.SMTP
        if c.security == "tls":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=self._context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
            if c.security == "starttls":
                smtp.starttls(context=self._context)
        if c.username:
            smtp.login(c.username, c.password or "")
        return smtp


class SmsProvider(Protocol):
    """One SMS API. 46elks is the first; others implement ``send_sms``."""

    def send_sms(self, to: str, text: str, key: str) -> None: ...


class ElksSms:
    """A 46elks-compatible API: form post of ``from``, ``to``, ``message`` with basic auth."""

    def __init__(self, config: SmsConfig, session: requests.Session | None = None) -> None:
        self._config = config
        self._http = session or requests.Session()

    def send_sms(self, to: str, text: str, key: str) -> None:
        c = self._config
        form = {"from": c.sender, "to": to, "message": text}
        _post(self._http, c.url, c.timeout_s, key, data=form, auth=(c.username, c.password or ""))


class SmsChannel:
    def __init__(self, provider: SmsProvider) -> None:
        self._provider = provider

    def send(self, message: Outgoing) -> None:
        self._provider.send_sms(message.recipient, message.body, message.key)


class WebhookChannel:
    """A JSON POST for the care records system (``verksamhetssystemet``)."""

    def __init__(self, config: WebhookConfig, session: requests.Session | None = None) -> None:
        self._config = config
        self._http = session or requests.Session()

    def send(self, message: Outgoing) -> None:
        body = {
            "v": 1,
            "key": message.key,
            "tenant": message.tenant,
            "incident": message.incident_id,
            "task": message.task_id,
            "to": message.recipient,
            "subject": message.subject,
            "text": message.body,
        }
        _post(self._http, self._config.url, self._config.timeout_s, message.key, json=body)


class MqttChannel:
    """Publishes the body, retained, on the topic given as the recipient (an incident's
    summary topic; an empty body clears it), confirmed by the broker's PUBACK.

    :param publish: ``(tenant, topic, payload) -> confirmed``, the MQTT link's.
    """

    def __init__(self, publish: Callable[[str, str, bytes], bool]) -> None:
        self._publish = publish

    def send(self, message: Outgoing) -> None:
        if not self._publish(message.tenant, message.recipient, message.body.encode()):
            raise DeliveryError("MQTT publish not confirmed by the broker")


def _post(http: requests.Session, url: str, timeout: float, key: str, **kwargs: Any) -> None:
    try:
        reply = http.post(url, timeout=timeout, headers={"Idempotency-Key": key}, **kwargs)
    except requests.RequestException as exc:
        raise DeliveryError(f"HTTP {type(exc).__name__}: {exc}") from exc
    if reply.status_code >= 300:
        permanent = 400 <= reply.status_code < 500 and reply.status_code not in (408, 429)
        raise DeliveryError(f"HTTP {reply.status_code}: {reply.text[:200]}", permanent=permanent)
