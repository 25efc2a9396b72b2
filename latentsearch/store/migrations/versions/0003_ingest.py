"""Incremental builds: builds, source files and source documents.

Revision ID: 0003_ingest
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_ingest"
down_revision = "0002_query"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ls_ingest_builds",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sources", JsonType, nullable=False),
        sa.Column("summary", JsonType),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_ls_ingest_builds"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_ingest_builds_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ls_ingest_builds_collection_id", "ls_ingest_builds", ["collection_id"])
    op.create_table(
        "ls_ingest_files",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("doc_id", sa.String(512), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("settings", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_ingest_files"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_ingest_files_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("collection_id", "path", name="uq_ls_ingest_files_collection_path"),
    )
    op.create_index(
        "ix_ls_ingest_files_collection_build", "ls_ingest_files", ["collection_id", "build_id"]
    )
    op.create_table(
        "ls_ingest_docs",
        sa.Column("collection_id", BigId, nullable=False),
        sa.Column("doc_id", sa.String(512), nullable=False),
        sa.Column("file_id", BigId, nullable=False),
        sa.Column("record_hash", sa.String(64), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("build_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "doc_id", name="pk_ls_ingest_docs"),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["ls_collections.id"],
            name="fk_ls_ingest_docs_collection_id_ls_collections",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["ls_ingest_files.id"],
            name="fk_ls_ingest_docs_file_id_ls_ingest_files",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_ls_ingest_docs_file_build", "ls_ingest_docs", ["file_id", "build_id"])


def downgrade() -> None:
    op.drop_table("ls_ingest_docs")
    op.drop_table("ls_ingest_files")
    op.drop_table("ls_ingest_builds")
