"""Local stand-ins for the mail server and the SMS provider, for the demo and e2e tests.

:class:`MailSink` is a real SMTP server (aiosmtpd) and :class:`SmsSink` a real
HTTP server speaking the 46elks form API (``POST /a1/sms`` with ``from``,
``to``, ``message`` and basic auth), so the central service sends to them
exactly as it would send to production. Every message received goes to an
:class:`Inbox`: kept in memory for tests, appended to a JSON-lines file that
the dashboard's demo page reads, and passed to a listener (the demo prints it).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Captured:
    """One message as the recipient's phone or mailbox would get it."""

    channel: str
    """``email``, ``sms`` or ``webhook`` (the care records system)."""
    at: str
    """When it arrived, on the demo's clock (RFC 3339)."""
    to: str
    subject: str
    body: str


class Inbox:
    """Everything the sinks received, in arrival order.

    :param path: JSON-lines file appended per message (``None``: memory only).
    :param clock: stamps each message (the demo's clock).
    :param listener: called with each message (after it is stored).
    """

    def __init__(
        self,
        path: Path | None,
        clock: Clock,
        listener: Callable[[Captured], None] = lambda _m: None,
    ) -> None:
        self.path, self.clock, self.listener = path, clock, listener
        self._messages: list[Captured] = []
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def add(self, channel: str, to: str, subject: str, body: str) -> Captured:
        message = Captured(channel, self.clock().isoformat(), to, subject, body)
        with self._lock:
            self._messages.append(message)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(asdict(message), ensure_ascii=False) + "\n")
        self.listener(message)
        return message

    def messages(self, channel: str | None = None) -> list[Captured]:
        with self._lock:
            return [m for m in self._messages if channel is None or m.channel == channel]


class MailSink:
    """An SMTP server on 127.0.0.1 (no TLS, no auth) that delivers into an inbox.

    :param port: 0 picks a free port; read :attr:`port` after :meth:`start`.
    """

    def __init__(self, inbox: Inbox, port: int = 0) -> None:
        self.inbox = inbox
        self._controller = Controller(self, hostname="127.0.0.1", port=port or _free_port())
        self.port = self._controller.port

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        for rcpt in envelope.rcpt_tos:
            self.inbox.add("email", rcpt, str(mail["Subject"] or ""), str(text))
        return "250 OK"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class SmsSink:
    """The 46elks SMS API on a local HTTP server: ``POST /a1/sms``, basic auth, form body.

    It also takes the webhook channel's JSON posts on ``/webhook``.

    Answers as 46elks does (JSON with an ``id`` and ``status``), and 401 to a wrong password.
    """

    def __init__(self, inbox: Inbox, username: str, password: str) -> None:
        self.inbox, self.username, self.password = inbox, username, password
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-sink")
        self._count = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/a1/sms"

    def start(self) -> SmsSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _accept(self, authorization: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if not hmac.compare_digest(authorization.encode(), expected.encode()):
            return 401, {"error": "wrong API credentials"}
        missing = [k for k in ("from", "to", "message") if not form.get(k)]
        if missing:
            return 400, {"error": f"missing {', '.join(missing)}"}
        self._count += 1
        self.inbox.add("sms", form["to"], f"från {form['from']}", form["message"])
        return 200, {"id": f"demo{self._count:06d}", "status": "created", "to": form["to"]}

    @property
    def webhook_url(self) -> str:
        """Stands in for the care records system's webhook (JSON posts)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def _webhook(self, text: str) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(text)
            self.inbox.add("webhook", str(body["to"]), str(body["subject"]), str(body["text"]))
        except (ValueError, KeyError, TypeError):
            return 400, {"error": "expected the JSON of central's webhook channel"}
        return 200, {"status": "ok"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                text = self.rfile.read(length).decode("utf-8")
                if self.path.rstrip("/") == "/webhook":
                    self._reply(*sink._webhook(text))
                    return
                if self.path.rstrip("/") != "/a1/sms":
                    self._reply(404, {"error": "not found"})
                    return
                form = {key: values[0] for key, values in parse_qs(text).items()}
                self._reply(*sink._accept(self.headers.get("Authorization", ""), form))

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        return Handler


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
