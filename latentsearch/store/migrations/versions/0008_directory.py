"""Directory sync: sources, users, groups and memberships; API keys learn where their groups
come from (``groups_from``: ``key`` for the groups frozen in the key, as every key made before
this revision, or ``directory`` for the user's groups in the synced directory).

Revision ID: 0008_directory
Revises: 0007_sync
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_directory"
down_revision = "0007_sync"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ls_directory_sources",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("location", sa.String(2048)),
        sa.Column("synced", sa.DateTime(timezone=True)),
        sa.Column("users", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("memberships", sa.Integer(), nullable=False),
        sa.Column("failed", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_ls_directory_sources"),
        sa.UniqueConstraint("name", name="uq_ls_directory_sources_name"),
    )
    op.create_table(
        "ls_directory_users",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(500)),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_directory_users"),
        sa.UniqueConstraint("source", "name", name="uq_ls_directory_users_source_name"),
    )
    op.create_index("ix_ls_directory_users_name", "ls_directory_users", ["name"])
    op.create_table(
        "ls_directory_groups",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_directory_groups"),
        sa.UniqueConstraint("source", "name", name="uq_ls_directory_groups_source_name"),
    )
    op.create_table(
        "ls_directory_members",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("member", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ls_directory_members"),
        sa.UniqueConstraint(
            "source", "group_name", "kind", "member", name="uq_ls_directory_members_source_edge"
        ),
    )
    op.create_index("ix_ls_directory_members_member", "ls_directory_members", ["kind", "member"])
    # Keys made before this revision keep the groups frozen in them (see docs/directory.md).
    with op.batch_alter_table("ls_api_keys") as batch:
        batch.add_column(
            sa.Column("groups_from", sa.String(16), nullable=False, server_default="key")
        )


def downgrade() -> None:
    with op.batch_alter_table("ls_api_keys") as batch:
        batch.drop_column("groups_from")
    op.drop_index("ix_ls_directory_members_member", table_name="ls_directory_members")
    op.drop_table("ls_directory_members")
    op.drop_table("ls_directory_groups")
    op.drop_index("ix_ls_directory_users_name", table_name="ls_directory_users")
    op.drop_table("ls_directory_users")
    op.drop_table("ls_directory_sources")
