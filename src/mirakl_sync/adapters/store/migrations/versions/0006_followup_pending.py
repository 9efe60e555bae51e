"""marketplace_orders.followup_pending: a follow-up not done yet, tried again by the pulls

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Orders of an older release start with nothing pending: their follow-ups ran (or
    # gave up) before the column existed, and the pulls cannot tell which.
    with op.batch_alter_table("marketplace_orders") as batch:
        batch.add_column(sa.Column("followup_pending", sa.String(length=60), nullable=True))
    # Every pull asks for the orders with one pending: few among very many.
    op.create_index(
        "ix_marketplace_orders_followup_pending", "marketplace_orders", ["followup_pending"]
    )


def downgrade() -> None:
    op.drop_index("ix_marketplace_orders_followup_pending", table_name="marketplace_orders")
    with op.batch_alter_table("marketplace_orders") as batch:
        batch.drop_column("followup_pending")
