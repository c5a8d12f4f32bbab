"""Demo only: the e-mails, SMS and webhook posts the demo's local sinks received.

``driftvakt-sim demo`` points the service's channels at local stand-ins for the
mail server, the SMS provider and the care records system, which append every
message to a JSON-lines file; with ``[web] demo_inbox`` set to that file, this
page shows what staff would have received. Unset (production), the route does
not exist.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from central.web.accounts import Principal
from central.web.pages import render
from central.web.security import need

router = APIRouter(include_in_schema=False)
CHANNEL_NAMES = {"email": "E-post", "sms": "SMS", "webhook": "Verksamhetssystemet"}


def read_inbox(path: Path, limit: int = 300) -> list[dict[str, Any]]:
    """The newest ``limit`` messages, newest first; unreadable lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    messages = []
    for line in reversed(lines[-limit:]):
        try:
            message = json.loads(line)
            # The sinks write the demo clock's UTC time; the page shows Stockholm's.
            message["at"] = datetime.fromisoformat(message["at"])
        except (ValueError, KeyError, TypeError):
            continue
        messages.append(message)
    return messages


@router.get("/demo/inbox")
def demo_inbox_page(
    request: Request, me: Annotated[Principal, Depends(need(None))], channel: str = ""
) -> Response:
    path = request.app.state.ctx.settings.demo_inbox
    messages = read_inbox(path) if path is not None else []
    if channel:
        messages = [m for m in messages if m.get("channel") == channel]
    return render(
        request,
        me,
        "demo_inbox.html",
        "routine",
        messages=messages,
        channel=channel,
        CHANNEL_NAMES=CHANNEL_NAMES,
    )
