"""executors.process_space: where an executor's pid can be checked for certain

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 08:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("executors") as batch:
        batch.add_column(sa.Column("process_space", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executors") as batch:
        batch.drop_column("process_space")
