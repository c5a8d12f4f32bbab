"""Jinja2 filters and globals: times in Europe/Stockholm, Swedish names."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from central.engine.texts import ACTION_NAMES
from central.web.fleet import HEALTH_NAMES, STATES
from central.web.roles import ROLE_NAMES, Perm, allows
from central.web.routine import INCIDENT_STATUS, KIND_NAMES, TASK_STATUS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
_DAYS = ("mån", "tis", "ons", "tors", "fre", "lör", "sön")
_MONTHS = ("jan", "feb", "mars", "apr", "maj", "juni", "juli", "aug", "sep", "okt", "nov", "dec")


def clock(value: datetime | None) -> str:
    """``HH:MM`` on the Stockholm wall clock."""
    return value.astimezone(STOCKHOLM).strftime("%H:%M") if value else "–"


def when(value: datetime | None) -> str:
    """``tis 9 mars 02:30`` on the Stockholm wall clock."""
    if value is None:
        return "–"
    local = value.astimezone(STOCKHOLM)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local:%H:%M}"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


_EVENTS = {
    "incident_opened": "Ärendet öppnades",
    "incident_updated": "Ärendet ändrades",
    "incident_closed": "Ärendet stängdes",
    "task_created": "Uppgift skapad",
    "reminder": "Påminnelse",
    "escalated": "Eskalerad",
    "cancelled": "Uppgift avbruten",
    "acknowledged": "Kvitterad",
    "completed": "Klar",
}
_HUMAN = {
    "acknowledge": "kvitterade",
    "task_done": "markerade uppgiften som klar",
    "visit_done": "registrerade besöket",
    "vendor_case": "angav leverantörens ärendenummer",
    "check_failed": "rapporterade misslyckad kontroll",
    "comment": "kommenterade",
}
_STATUS = {
    "sent": "skickat",
    "failed": "försöker igen",
    "dead": "misslyckades",
    "pending": "väntar",
}


def _time_of(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return clock(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return ""


def _decision(d: dict[str, Any]) -> str:
    event = str(d.get("event", ""))
    parts = [_EVENTS.get(event, event)]
    if d.get("action"):
        parts.append(ACTION_NAMES.get(str(d["action"]), str(d["action"])))
    if d.get("role"):
        parts.append("→ " + ROLE_NAMES.get(str(d["role"]), str(d["role"])))
    if d.get("check"):
        parts.append(f"(kontroll {_time_of(d['check'])})")
    return " ".join(parts)


def _human(d: dict[str, Any]) -> str:
    action = str(d.get("action", ""))
    text = _HUMAN.get(action, action)
    if action == "visit_done":
        text += ", utrustningen omstartad" if d.get("restarted") else ", ingen omstart"
    if action == "vendor_case":
        text += f" {d.get('case', '')}"
    if action == "comment":
        text += f": ”{d.get('comment', '')}”"
    return text


def describe(kind: str, detail: dict[str, Any]) -> str:
    """One audit entry as a line of Swedish for the timeline."""
    if kind == "decision" or "event" in detail:
        return _decision(detail)
    if kind == "human":
        return _human(detail)
    if kind == "gateway":
        return _gateway_event(detail)
    if "channel" in detail:
        status = _STATUS.get(str(detail.get("status", "")), str(detail.get("status", "")))
        return f"Utskick via {detail['channel']}: {status}"
    if "command" in detail:
        if "ok" in detail:
            return (
                "Kommandot lyckades"
                if detail["ok"]
                else f"Kommandot misslyckades: {detail.get('detail', '')}"
            )
        return f"Fjärromstart skickad ({detail.get('device', '')})"
    return ", ".join(f"{k}: {v}" for k, v in detail.items())


_DEVICE = {"router": "routern", "camera": "kameran"}
_GATEWAY_EVENT = {
    "agent_started": "Agenten startade",
    "agent_stopping": "Agenten stängs av",
    "device_up": "{d} svarar igen",
    "device_down": "{d} svarar inte",
    "device_unreachable": "{d} går inte att nå (routern är nere)",
    "restart_started": "Omstart av {d} påbörjad",
    "restart_succeeded": "Omstart av {d} lyckades",
    "restart_failed": "Omstart av {d} misslyckades",
    "restart_exhausted": "Automatisk omstart av {d} uppgiven",
    "command_rejected": "Kommando avvisat",
    "relay_fault": "Relefel ({d})",
}


def _gateway_event(detail: dict[str, Any]) -> str:
    device = str(detail.get("device") or "")
    text = _GATEWAY_EVENT.get(str(detail.get("type")), str(detail.get("type")))
    line = text.format(d=_DEVICE.get(device, device or "gatewayen"))
    return line[0].upper() + line[1:]


def install_filters(templates: Jinja2Templates) -> None:
    env = templates.env
    env.filters.update(clock=clock, when=when, iso=iso)
    env.globals.update(describe=describe)
    env.globals.update(
        STATES=STATES,
        HEALTH_NAMES=HEALTH_NAMES,
        ROLE_NAMES=ROLE_NAMES,
        ACTION_NAMES=ACTION_NAMES,
        KIND_NAMES=KIND_NAMES,
        TASK_STATUS=TASK_STATUS,
        INCIDENT_STATUS=INCIDENT_STATUS,
        Perm=Perm,
        allows=allows,
    )
