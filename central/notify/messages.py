"""The shape of each channel's message around the engine's Swedish text.

The engine writes a notification's subject and body (``central.engine``'s
texts, one per action); this module only fits them to a channel: a short SMS
(first line, with the reply code), a fuller e-mail (all of it, with the
signed link and the code), and the JSON of the webhook. Nothing here adds
client data: the engine's text carries none.
"""

from __future__ import annotations

from dataclasses import dataclass

SMS_LIMIT = 306
"""Characters: two concatenated GSM-7 segments."""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """How a reader can acknowledge the task the message is about."""

    url: str | None = None
    code: str | None = None


def where(gateways: list[str]) -> str:
    """The homes a message is about, by pseudonymous gateway id (never a name)."""
    if len(gateways) == 1:
        return f"gateway {gateways[0]}"
    shown = ", ".join(gateways[:6]) + (" m.fl." if len(gateways) > 6 else "")
    return f"{len(gateways)} hem: {shown}"


def sms_text(subject: str, body: str, ack: Acknowledgement | None, gateways: list[str]) -> str:
    """``Driftvakt: <subject> (<where>). <first line of body>`` plus the reply code, cut to fit."""
    first = next((line for line in body.splitlines() if line.strip()), "")
    tail = f" Kvittera: svara {ack.code}" if ack and ack.code else ""
    place = f" ({where(gateways)})" if gateways else ""
    text = f"Driftvakt: {subject}{place}. {first}"
    room = SMS_LIMIT - len(tail)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + tail


def email_text(
    subject: str, body: str, ack: Acknowledgement | None, gateways: list[str]
) -> tuple[str, str]:
    """Subject and body of the e-mail: where, the whole text, and how to acknowledge."""
    place = where(gateways)
    lines = [f"Gäller {place}" + ("" if place.endswith(".") else "."), ""] if gateways else []
    lines.append(body.rstrip())
    if ack and (ack.url or ack.code):
        lines.append("")
    if ack and ack.url:
        lines.append(f"Kvittera uppgiften: {ack.url}")
    if ack and ack.code:
        lines.append(f"Du kan också kvittera genom att svara på sms:et med koden {ack.code}.")
    lines += ["", "-- ", "Skickat automatiskt av Driftvakt."]
    return f"[Driftvakt] {subject}", "\n".join(lines)
