"""API keys, stored hashed: key id, key hash, user, groups, role, created, revoked.

Revision ID: 0005_keys
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_keys"
down_revision = "0004_keyword"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_api_keys",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("groups", JsonType, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_ls_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_ls_api_keys_key_id"),
        sa.UniqueConstraint("key_hash", name="uq_ls_api_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("ls_api_keys")
