"""Source sync (latentsearch sync): per-source cursors and runs, per-record versions and items.

Revision ID: 0007_sync
Revises: 0006_item_values
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_sync"
down_revision = "0006_item_values"
branch_labels = None
depends_on = None

JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_sync_sources",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("collection", sa.String(200), nullable=False),
        sa.Column("cursor", sa.Text()),
        sa.Column("settings", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True)),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.Column("counts", JsonType, nullable=False),
        sa.Column("errors", JsonType, nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ls_sync_sources"),
    )
    op.create_table(
        "ls_sync_records",
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(512), nullable=False),
        sa.Column("version", sa.Text()),
        sa.Column("items", JsonType, nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "record_id", name="pk_ls_sync_records"),
    )


def downgrade() -> None:
    op.drop_table("ls_sync_records")
    op.drop_table("ls_sync_sources")
