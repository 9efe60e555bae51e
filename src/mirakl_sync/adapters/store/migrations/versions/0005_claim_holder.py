"""call_budgets.holder: the process holding a claim, so a dead holder's claim lapses

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_budgets") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_budgets") as batch:
        batch.drop_column("holder")
