"""shop_feed_handled: what each safety-net pass last handled of each shop order

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mirakl_sync.adapters.store.tables import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_feed_handled",
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("shop_order_id", sa.String(length=80), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "shop_order_id", name=op.f("pk_shop_feed_handled")),
    )


def downgrade() -> None:
    op.drop_table("shop_feed_handled")
