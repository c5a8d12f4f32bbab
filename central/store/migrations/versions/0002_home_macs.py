"""homes: camera and router MAC addresses for the vendor fault report

Revision ID: 0002
Revises: 0101

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("homes") as batch:
        batch.add_column(sa.Column("camera_mac", sa.String(length=17), nullable=True))
        batch.add_column(sa.Column("router_mac", sa.String(length=17), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("homes") as batch:
        batch.drop_column("router_mac")
        batch.drop_column("camera_mac")
