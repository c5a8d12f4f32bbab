"""Acknowledging a task from the message itself: a signed link (itsdangerous)
or a short code texted back. Neither carries anything but the task id."""

from __future__ import annotations

import re
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from central.errors import ActionError

_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
_CODE_RE = re.compile(r"\b([2-9A-HJ-NP-Z]{5})\b")


def new_reply_code() -> str:
    """Five characters that survive being read aloud and typed on a phone."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(5))


def find_reply_code(text: str) -> str | None:
    """The code in an SMS reply such as ``ok 4k7qx`` (case does not matter)."""
    match = _CODE_RE.search(text.upper())
    return match.group(1) if match else None


class AckLinks:
    """Builds and checks signed acknowledgement links.

    :param str base_url: the dashboard's public URL.
    :param str secret: the signing secret (config ``links.secret``).
    :param float max_age_s: how long a link stays valid, in seconds.
    """

    def __init__(self, base_url: str, secret: str, max_age_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._signer = URLSafeTimedSerializer(secret, salt="driftvakt-ack")
        self._max_age = int(max_age_s)

    def token(self, task_id: str) -> str:
        return self._signer.dumps({"task": task_id})

    def url(self, task_id: str) -> str:
        return f"{self._base}/ack/{self.token(task_id)}"

    def task_of(self, token: str) -> str:
        """The task a token acknowledges.

        :raises ActionError: when the token is forged, mangled or expired.
        """
        try:
            data = self._signer.loads(token, max_age=self._max_age)
        except SignatureExpired:
            raise ActionError("the acknowledgement link has expired") from None
        except BadSignature:
            raise ActionError("the acknowledgement link is not valid") from None
        if not isinstance(data, dict) or not isinstance(data.get("task"), str):
            raise ActionError("the acknowledgement link is not valid")
        return str(data["task"])
