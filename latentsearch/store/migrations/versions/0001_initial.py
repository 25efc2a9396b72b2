"""Initial schema: collections, items, item principals, vectors, tombstones.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_collections",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("encoder", JsonType, nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("index_spec", sa.String(200), nullable=False),
        sa.Column("require_principals", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("options", JsonType, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_collections"),
        sa.UniqueConstraint("name", name="uq_ls_collections_name"),
    )
    op.create_table(
        "ls_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("content_ref", sa.Text()),
        sa.Column("source_uri", sa.Text()),
        sa.Column("source_title", sa.Text()),
        sa.Column("parent_id", sa.String(512)),
        sa.Column("chunk_start", sa.Integer()),
        sa.Column("chunk_end", sa.Integer()),
        sa.Column("metadata", JsonType, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_items"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_items_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("collection_id", "external_id", name="uq_ls_items_collection_external"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ls_items_collection_id", "ls_items", ["collection_id"])
    op.create_index("ix_ls_items_collection_seq", "ls_items", ["collection_id", "seq"])
    op.create_index("ix_ls_items_collection_parent", "ls_items", ["collection_id", "parent_id"])
    op.create_table(
        "ls_item_principals",
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("item_id", "principal", name="pk_ls_item_principals"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["ls_items.id"],
            name="fk_ls_item_principals_item_id_ls_items",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ls_item_principals_principal_item", "ls_item_principals", ["principal", "item_id"]
    )
    op.create_table(
        "ls_vectors",
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_ls_vectors"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["ls_items.id"], name="fk_ls_vectors_item_id_ls_items", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "ls_tombstones",
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "item_id", name="pk_ls_tombstones"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_tombstones_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ls_tombstones_collection_seq", "ls_tombstones", ["collection_id", "seq"])


def downgrade() -> None:
    op.drop_table("ls_tombstones")
    op.drop_table("ls_vectors")
    op.drop_table("ls_item_principals")
    op.drop_table("ls_items")
    op.drop_table("ls_collections")
