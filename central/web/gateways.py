"""The gateway page's read model: state, event history, commands and incidents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from central.store import audit
from central.store.models import AuditEntry, CommandRecord, Gateway, Home, Incident
from central.web.actions import NotFound
from central.web.context import WebContext
from central.web.fleet import HomeRow, home_row

_HISTORY = 50
"""Audit entries shown on the page: the gateway's newest, however old."""


@dataclass(frozen=True, slots=True)
class GatewayDetail:
    home: HomeRow
    history: list[AuditEntry]
    commands: list[CommandRecord]
    incidents: list[Incident]
    heartbeat_s: int | None
    time_synced: bool | None

    def public(self) -> dict[str, Any]:
        out = self.home.public()
        out["heartbeat_s"] = self.heartbeat_s
        out["time_synced"] = self.time_synced
        out["history"] = [
            {"at": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in self.history
        ]
        out["commands"] = [
            {
                "id": c.id,
                "type": c.type,
                "device": c.device,
                "by": c.by,
                "sent": c.sent_at,
                "expires": c.expires_at,
                "result_at": c.result_at,
                "ok": c.ok,
                "detail": c.detail,
            }
            for c in self.commands
        ]
        out["incidents"] = [
            {"id": i.id, "kind": i.kind, "status": i.status, "opened": i.opened_at}
            for i in self.incidents
        ]
        return out


def gateway_detail(ctx: WebContext, tenant: str, gateway: str, *, labels: bool) -> GatewayDetail:
    """Everything known of one gateway.

    :raises NotFound: when it is neither registered nor ever heard from.
    """
    with ctx.reader.session() as session:
        home = session.get(Home, (tenant, gateway))
        heard = session.get(Gateway, (tenant, gateway))
        if home is None and heard is None:
            raise NotFound(f"no gateway {tenant}/{gateway}")
        history = audit.gateway_history(session, tenant, gateway, _HISTORY)
        commands = session.scalars(
            select(CommandRecord)
            .where(CommandRecord.tenant == tenant, CommandRecord.gateway == gateway)
            .order_by(CommandRecord.sent_at.desc())
            .limit(20)
        )
        incidents = [
            i
            for i in session.scalars(
                select(Incident)
                .where(Incident.tenant == tenant)
                .order_by(Incident.opened_at.desc())
                .limit(500)
            )
            if gateway in (i.gateways or [])
        ][:20]
        return GatewayDetail(
            home=home_row(home, heard, ctx.now(), labels),
            history=history,
            commands=list(commands),
            incidents=incidents,
            heartbeat_s=heard.heartbeat_s if heard else None,
            time_synced=heard.time_synced if heard else None,
        )
