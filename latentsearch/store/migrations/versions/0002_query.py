"""Query layer: named concept directions (``vec:<name>`` in expressions).

Revision ID: 0002_query
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_query"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_directions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("positive", JsonType, nullable=False),
        sa.Column("negative", JsonType, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_directions"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_directions_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("collection_id", "name", name="uq_ls_directions_collection_name"),
    )


def downgrade() -> None:
    op.drop_table("ls_directions")
