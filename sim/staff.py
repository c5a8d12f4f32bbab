"""Staff at work, through the dashboard's JSON API: the demo's and the e2e tests' people.

Signs in as a staff account (``POST /api/session``) and acts as a person
would: lists tasks (``GET /api/tasks``) and acknowledges them (``POST
/api/tasks/{id}/ack``), so that escalation stops where someone answered.
Plain ``urllib``: the simulator needs no HTTP client library.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from sim.errors import SimError


class StaffClient:
    """One signed-in staff account.

    :param url: the dashboard's base URL, ``http://127.0.0.1:8080``.
    """

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url, self.username, self._password = url.rstrip("/"), username, password
        self._token: str | None = None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call as this account; signs in on first use.

        :raises SimError: the API refused (status and detail in the message).
        """
        if self._token is None and path != "/api/session":
            answer = self.call(
                "POST", "/api/session", {"username": self.username, "password": self._password}
            )
            self._token = str(answer["token"])
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self._token is not None:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SimError(f"{method} {path}: HTTP {exc.code}: {detail}") from None
        except OSError as exc:
            raise SimError(f"{method} {path}: {exc}") from None

    def tasks(self, role: str = "*") -> list[dict[str, Any]]:
        """Live tasks of ``role`` (``*``: every role)."""
        result: list[dict[str, Any]] = self.call("GET", f"/api/tasks?role={role}")
        return result

    def acknowledge_open(self, role: str, comment: str = "") -> list[dict[str, Any]]:
        """Acknowledge every open task of ``role``; returns the tasks acknowledged."""
        done = []
        for task in self.tasks(role):
            if task["status"] == "open":
                self.call("POST", f"/api/tasks/{task['id']}/ack", {"comment": comment})
                done.append(task)
        return done
