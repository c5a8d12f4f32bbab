"""Swedish text for staff: notifications, the social-journal note draft and the
vendor fault report draft. Pure functions of the incident, the task, the
policy and the registry entry. Client labels (personal data) never appear:
staff find the client by gateway id in the signed-in dashboard, and the vendor
report names equipment only (ROUTINE.md "Gaps")."""

from __future__ import annotations

from datetime import datetime

from central.engine.effects import DecisionEvent
from central.engine.model import Incident, Task
from central.policy import Policy
from central.registry import Home

ACTION_TEXT = {
    "contact_homecare": (
        "Kontakta hemtjänstgruppen: finns besök planerat? Be dem starta om router och kamera."
    ),
    "site_restart": (
        "Se till att router och kamera startas om (brukaren eller utryckning) under arbetstid."
    ),
    "notify_night_patrol": "Kameran fungerar inte och blir troligen inte lagad före natten.",
    "physical_visit": (
        "Gör tillsynen fysiskt enligt planen med brukaren, starta om router och kamera "
        "och återrapportera till digital tillsyn."
    ),
    "journal_note": "För in anteckningen i sociala journalen (utkast bifogat).",
    "handover": "Kameran fungerar fortfarande inte efter besöket: larmgruppen tar över ärendet.",
    "vendor_report": "Felanmäl till leverantören och vidarebefordra ärendenumret till IT.",
    "verify_restored": "Kontrollera att kameran fungerar efter leverantörens åtgärd.",
    "status_report": "Lägesrapport om driftstoppet.",
    "it_ownership": "IT äger ärendet och driver det med leverantören tills allt fungerar.",
    "incident_report": "Beställ incidentrapport från leverantören och följ upp den.",
    "confirm_checks": (
        "Driftvakt ser inte kamerorna just nu. Rapportera vilka tillsyner som misslyckas."
    ),
}
ACTION_NAMES: dict[str, str] = {
    "contact_homecare": "Kontakta hemtjänstgruppen",
    "site_restart": "Starta om utrustningen på plats",
    "notify_night_patrol": "Kameran är ur funktion i natt",
    "physical_visit": "Fysiskt tillsynsbesök",
    "journal_note": "För in journalanteckning",
    "handover": "Ta över ärendet",
    "vendor_report": "Felanmäl till leverantören",
    "verify_restored": "Kontrollera att kameran fungerar",
    "status_report": "Lägesrapport",
    "it_ownership": "IT äger ärendet hos leverantören",
    "incident_report": "Beställ incidentrapport",
    "confirm_checks": "Rapportera misslyckade kontroller",
}
"""Short Swedish names of the actions, for subjects and the dashboard."""
EVENT_TEXT = {
    DecisionEvent.TASK_CREATED: "Ny uppgift",
    DecisionEvent.REMINDER: "Påminnelse",
    DecisionEvent.ESCALATED: "Eskalerad uppgift",
}
KIND_TEXT = {
    "single": "driftstopp",
    "extensive": "omfattande driftstopp",
    "infrastructure": "övervakningen nere",
}


def local(policy: Policy, when: datetime) -> str:
    return when.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")


def notification(
    policy: Policy, incident: Incident, task: Task, event: DecisionEvent, home: Home | None
) -> tuple[str, str]:
    """Subject and body of a notification to ``task.role``."""
    head = EVENT_TEXT.get(event, "Meddelande")
    name = ACTION_NAMES.get(task.action, task.action)
    subject = f"{head}: {name} ({KIND_TEXT[incident.kind]}, {len(incident.gateways)} hem)"
    lines = [ACTION_TEXT[task.action]]
    if task.gateway:
        group = f", hemtjänstgrupp {home.homecare_group}" if home else ""
        lines.append(f"Gateway {task.gateway}{group}.")
    if task.check:
        lines.append(f"Tillsyn kl {local(policy, task.check)}.")
    if task.action == "status_report":
        lines.append(_status(policy, incident))
    if task.draft:
        lines += ["", task.draft]
    lines.append(f"Incident {incident.id}, öppnad {local(policy, incident.opened)}.")
    return subject, "\n".join(lines)


def _status(policy: Policy, incident: Incident) -> str:
    """The current status, restored or not (ROUTINE.md vocabulary: ``status_report``)."""
    if incident.closed_at is not None:
        return f"Driftstoppet är över sedan {local(policy, incident.closed_at)}."
    return f"Driftstoppet pågår sedan {local(policy, incident.opened)}."


def journal_note(
    policy: Policy, incident: Incident, visit: Task, restarted: bool, at: datetime
) -> str:
    """Draft of the social-journal note for a physical visit (ROUTINE.md T1d, T4)."""
    check = local(policy, visit.check) if visit.check else local(policy, at)
    restart = (
        "Router och kamera startades om vid besöket." if restarted else "Ingen omstart gjordes."
    )
    case = (
        f" Ärendenummer hos leverantören: {incident.case_number}." if incident.case_number else ""
    )
    return (
        f"Fysisk tillsyn {check} i stället för kameratillsyn, eftersom trygghetskameran "
        f"inte fungerade (driftstopp {local(policy, incident.opened)}, orsak: "
        f"{REASON_TEXT.get(incident.reason, incident.reason)}). {restart}{case}"
    )


def vendor_report(policy: Policy, incident: Incident, homes: list[Home]) -> str:
    """Draft fault report to the vendor: equipment only, never the client."""
    vendor = policy.vendor
    lines = [
        f"Till: {vendor.get('name', '')} <{vendor.get('email', '')}>",
        f"Telefon: {vendor.get('phone', '')}",
        f"Felanmälan: {KIND_TEXT[incident.kind]} sedan {local(policy, incident.opened)}.",
        f"Orsak enligt Driftvakt: {REASON_TEXT.get(incident.reason, incident.reason)}.",
        "Berörd utrustning:",
    ]
    for home in homes:
        camera = _equipment(home.camera_serial, home.camera_mac)
        router = _equipment(home.router_serial, home.router_mac)
        lines.append(f"- gateway {home.gateway}: kamera {camera}, router {router}")
    return "\n".join(lines)


def _equipment(serial: str, mac: str) -> str:
    return f"{serial or 'okänt serienr'}" + (f" (MAC {mac})" if mac else "")


REASON_TEXT = {
    "restart_exhausted": "automatisk omstart misslyckades",
    "no_relay": "enhet nere i hem utan omstartsrelä",
    "silent": "gatewayen har tystnat",
    "offline": "gatewayen är offline",
    "check_at_risk": "kameran är inte bekräftat uppe inför en tillsyn",
    "check_failed": "digital tillsyn kunde inte genomföras",
    "check_failed_all": "digital tillsyn misslyckades för alla kameror",
    "grouped": "flera hem fick driftstopp inom kort tid",
    "broker_lost": "centralen tappade kontakten med MQTT-brokern",
    "fleet_silent": "mer än hälften av gatewayerna tystnade samtidigt",
}
