"""audit_gateways: which gateways each audit entry concerns, backfilled

Revision ID: 0003
Revises: 0002

The gateway page used to filter the tenant's newest 5,000 audit rows in
Python; this index replaces that scan. Existing entries are indexed here, in
batches of ``_BATCH`` rows by id, with the rule of
``central.store.audit.concerns`` as it stood when this was written (a
migration is frozen: it must do the same thing whenever it runs, so it does
not import a rule that may change), the actor standing for the gateway an old
entry is about, as the page matched it until now.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
"""Audit rows read and indexed per round: bounded memory on a log of millions."""

_audit = sa.table(
    "audit",
    sa.column("id", sa.Integer()),
    sa.column("tenant", sa.String()),
    sa.column("actor", sa.String()),
    sa.column("detail", sa.JSON()),
)


def upgrade() -> None:
    """Upgrade schema."""
    links = op.create_table(
        "audit_gateways",
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("gateway", sa.String(length=128), nullable=False),
        sa.Column("tenant", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit.id"], name=op.f("fk_audit_gateways_audit_id_audit")
        ),
        sa.PrimaryKeyConstraint("audit_id", "gateway", name=op.f("pk_audit_gateways")),
    )
    _backfill(op.get_bind(), links)
    # After the backfill: one index build instead of an update per inserted row.
    with op.batch_alter_table("audit_gateways") as batch:
        batch.create_index(
            "ix_audit_gateways_history", ["tenant", "gateway", "audit_id"], unique=False
        )


def _backfill(conn: sa.Connection, links: sa.Table) -> None:
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_audit).where(_audit.c.id > last).order_by(_audit.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [
            {"audit_id": row.id, "tenant": row.tenant, "gateway": gateway}
            for row in rows
            for gateway in sorted(_concerns(row.detail or {}, row.actor))
        ]
        if values:
            conn.execute(links.insert(), values)
        last = rows[-1].id


def _concerns(detail: dict[str, Any], actor: str) -> set[str]:
    named = {detail.get("gateway"), *(detail.get("gateways") or ()), actor}
    return {g for g in named if isinstance(g, str) and g}


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("audit_gateways") as batch:
        batch.drop_index("ix_audit_gateways_history")
    op.drop_table("audit_gateways")
