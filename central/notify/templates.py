"""Swedish message templates, one per action of ROUTINE.md's vocabulary.

SMS is short (one or two segments); e-mail is fuller and carries any drafted
text (journal note, vendor report). No template ever names the client: the
label is personal data and stays in the registry and the signed-in
dashboard. Gateways are named by their pseudonymous id. Times are shown in
Europe/Stockholm wall-clock (STYLE.md: only on screen).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

_LOCAL = ZoneInfo("Europe/Stockholm")

# action -> (title, what to do); {group}, {check}, {vendor_email}, {vendor_phone}, {it_email}
_ACTIONS: dict[str, tuple[str, str]] = {
    "contact_homecare": (
        "Kamera ur funktion – kontakta hemtjänsten",
        "Kontakta hemtjänstgrupp {group}: finns ett planerat besök i dag? Be då personalen "
        "starta om router och kamera (dra ur sladdarna, vänta några sekunder, sätt i dem) "
        "och dokumentera besöket i social journal.",
    ),
    "site_restart": (
        "Kamera ur funktion – ordna omstart",
        "Inget planerat besök: be brukaren starta om router och kamera, eller åk ut och "
        "starta om dem under arbetstid.",
    ),
    "notify_night_patrol": (
        "Kamera ur funktion i natt",
        "Kameran kunde inte startas om i dag. Nattens tillsyner måste göras som fysiska "
        "besök enligt planen med brukaren.",
    ),
    "physical_visit": (
        "Fysiskt besök krävs kl {check}",
        "Kameratillsynen kl {check} kan inte göras digitalt. Gör ett fysiskt besök, starta "
        "om router och kamera och återrapportera till den digitala tillsynen.",
    ),
    "journal_note": (
        "Journalanteckning att föra in",
        "För in journalanteckningen nedan i verksamhetssystemet och markera den som förd.",
    ),
    "handover": (
        "Kameran fungerar inte efter besöket – larmgruppen tar över",
        "Kameran fungerar fortfarande inte efter nattpatrullens besök. Larmgruppen tar över "
        "ärendet och felanmäler till leverantören.",
    ),
    "vendor_report": (
        "Felanmälan till leverantören",
        "Felanmäl till leverantören ({vendor_email}, tel {vendor_phone}) och skicka "
        "ärendenumret vidare till IT ({it_email}). Ange utrustningens serienummer, aldrig "
        "brukarens namn.",
    ),
    "verify_restored": (
        "Kontrollera att kameran fungerar",
        "Leverantören anger att felet är åtgärdat. Kontrollera att kameran fungerar.",
    ),
    "status_report": ("Status för kameran", "{status}"),
    "it_ownership": (
        "IT äger leverantörsärendet",
        "IT tar ägarskap för ärendet och driver det med leverantören tills allt fungerar, "
        "och meddelar enhetschef och larmgruppen när driften är återställd.",
    ),
    "incident_report": (
        "Beställ händelserapport",
        "Driften är återställd. Beställ en händelserapport från leverantören och följ upp den.",
    ),
    "confirm_checks": (
        "Driftvakt ser inte kamerorna just nu",
        "Vår övervakning är tillfälligt blind. Rapportera varje tillsyn som misslyckas, för "
        "en brukare eller för alla kameror.",
    ),
}

_EVENTS = {"reminder": "Påminnelse: ", "escalated": "Eskalerat: ", "cancelled": "Avslutat: "}

_KINDS = {
    "single": "enskilt driftstopp",
    "extensive": "omfattande driftstopp",
    "infrastructure": "Driftvakts övervakning",
}


@dataclass(frozen=True, slots=True)
class Notice:
    """Everything a message may show; built by the service from an engine effect."""

    action: str
    event: str
    kind: str
    gateways: tuple[str, ...]
    group: str = ""
    check: datetime | None = None
    due: datetime | None = None
    ack_url: str | None = None
    reply_code: str | None = None
    draft: str = ""
    vendor_case: str | None = None
    restored: bool | None = None
    addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    sms: str
    subject: str
    email: str


def local(value: datetime) -> str:
    """HH:MM in Europe/Stockholm."""
    return value.astimezone(_LOCAL).strftime("%H:%M")


def render(notice: Notice) -> Rendered:
    """The SMS and e-mail texts of one notice."""
    title, todo = _ACTIONS.get(notice.action, (notice.action, ""))
    values = {
        "group": notice.group or "(okänd)",
        "check": local(notice.check) if notice.check else "",
        "status": _status(notice.restored),
        "vendor_email": notice.addresses.get("vendor_email", ""),
        "vendor_phone": notice.addresses.get("vendor_phone", ""),
        "it_email": notice.addresses.get("it_email", ""),
    }
    title = _EVENTS.get(notice.event, "") + title.format(**values)
    todo = todo.format(**values)
    where = _where(notice.gateways)
    ack = _ack_sms(notice)
    sms = f"Driftvakt: {title}. {where}. {todo}{ack}"
    return Rendered(
        sms=sms, subject=f"[Driftvakt] {title} – {where}", email=_email(notice, title, todo)
    )


def _email(notice: Notice, title: str, todo: str) -> str:
    lines = [
        title,
        "",
        f"Gäller: {_where(notice.gateways)} ({_KINDS.get(notice.kind, notice.kind)})",
    ]
    if notice.group:
        lines.append(f"Hemtjänstgrupp: {notice.group}")
    if notice.due:
        lines.append(f"Senast: kl {local(notice.due)}")
    if notice.vendor_case:
        lines.append(f"Ärendenummer hos leverantören: {notice.vendor_case}")
    lines += ["", todo]
    if notice.draft:
        lines += ["", "Utkast:", notice.draft]
    if notice.ack_url or notice.reply_code:
        lines.append("")
    if notice.ack_url:
        lines.append(f"Kvittera uppgiften: {notice.ack_url}")
    if notice.reply_code:
        lines.append(f"Eller svara på sms:et med koden {notice.reply_code}.")
    lines += ["", "Meddelandet skickades automatiskt av Driftvakt."]
    return "\n".join(lines)


def _ack_sms(notice: Notice) -> str:
    if notice.reply_code:
        return f" Kvittera: svara {notice.reply_code}"
    if notice.ack_url:
        return f" Kvittera: {notice.ack_url}"
    return ""


def _where(gateways: tuple[str, ...]) -> str:
    if len(gateways) == 1:
        return f"Gateway {gateways[0]}"
    shown = ", ".join(gateways[:5]) + (" m.fl." if len(gateways) > 5 else "")
    return f"{len(gateways)} hem ({shown})"


def _status(restored: bool | None) -> str:
    if restored is None:
        return "Status är oförändrad."
    if restored:
        return "Kameran fungerar igen. Öppna uppgifter är avslutade."
    return "Kameran fungerar fortfarande inte."
