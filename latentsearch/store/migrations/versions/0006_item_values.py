"""Indexed top-level metadata values (``ls_item_values``), kept in step by triggers, backfilled.

Filters on top-level metadata keys read this table through its indexes instead of parsing every
item's JSON (see `latentsearch.store.values`). Triggers on ``ls_items`` rewrite an item's rows in
the write transaction that inserts it or changes its metadata; deleting an item cascades.

Revision ID: 0006_item_values
Revises: 0005_keys
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from latentsearch.errors import StoreError

revision = "0006_item_values"
down_revision = "0005_keys"
branch_labels = None
depends_on = None

KEY_MAX = 64  # as latentsearch.store.values.KEY_MAX / STR_MAX: a snapshot, like all migrations
STR_MAX = 512
COLUMNS = "item_id, key, pos, collection_id, elem, kind, num, txt"

# DDL constants only: nothing here is built from user input. In the templates, ITEM is the item
# row (NEW, or an alias in the backfill) and VAL a JSON value (SQLite: a json_each row with its
# .type and .atom; PostgreSQL: a jsonb expression).
SQLITE_KIND = (
    "CASE VAL.type WHEN 'null' THEN 'z' WHEN 'true' THEN 't' WHEN 'false' THEN 'f' "
    "WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' "
    f"WHEN 'text' THEN CASE WHEN length(VAL.atom) <= {STR_MAX} THEN 's' ELSE 'S' END "
    "WHEN 'array' THEN 'a' ELSE 'o' END"
)
SQLITE_NUM = "CASE WHEN VAL.type IN ('integer', 'real') THEN CAST(VAL.atom AS REAL) END"
SQLITE_TXT = f"CASE WHEN VAL.type = 'text' AND length(VAL.atom) <= {STR_MAX} THEN VAL.atom END"


def _sqlite_cols(val: str) -> str:
    return ", ".join(c.replace("VAL", val) for c in (SQLITE_KIND, SQLITE_NUM, SQLITE_TXT))


SQLITE_SELECT = [
    # the values of top-level keys
    f"""SELECT ITEM.id, t.key, -1, ITEM.collection_id, 0, {_sqlite_cols("t")}
    FROM json_each(ITEM.metadata) AS t
    WHERE json_type(ITEM.metadata) = 'object' AND length(t.key) <= {KEY_MAX}""",
    # the scalar elements of top-level lists
    f"""SELECT ITEM.id, t.key, e.key, ITEM.collection_id, 1, {_sqlite_cols("e")}
    FROM json_each(ITEM.metadata) AS t, json_each(t.value) AS e
    WHERE json_type(ITEM.metadata) = 'object' AND length(t.key) <= {KEY_MAX}
        AND t.type = 'array' AND e.type NOT IN ('array', 'object')""",
]

# PostgreSQL. Numbers outside float8's range get no `num` (a cast would raise in the trigger).
PG_KIND = (
    "CASE jsonb_typeof(VAL) WHEN 'null' THEN 'z' "
    "WHEN 'boolean' THEN CASE WHEN VAL = 'true'::jsonb THEN 't' ELSE 'f' END "
    "WHEN 'number' THEN 'n' "
    f"WHEN 'string' THEN CASE WHEN char_length(VAL #>> '{{}}') <= {STR_MAX} THEN 's' ELSE 'S' END "
    "WHEN 'array' THEN 'a' ELSE 'o' END"
)
PG_NUM = (
    "CASE WHEN jsonb_typeof(VAL) = 'number' AND (VAL::numeric = 0 "
    "OR abs(VAL::numeric) BETWEEN 1e-307 AND 1e308) THEN (VAL #>> '{}')::float8 END"
)
PG_TXT = (
    f"CASE WHEN jsonb_typeof(VAL) = 'string' AND char_length(VAL #>> '{{}}') <= {STR_MAX} "
    "THEN VAL #>> '{}' END"
)


def _pg_cols(val: str) -> str:
    return ", ".join(c.replace("VAL", val) for c in (PG_KIND, PG_NUM, PG_TXT))


PG_OBJECT = "CASE WHEN jsonb_typeof(ITEM.metadata) = 'object' THEN ITEM.metadata ELSE '{}' END"
PG_SELECT = [
    f"""SELECT ITEM.id, t.key, -1, ITEM.collection_id, false, {_pg_cols("t.value")}
    FROM jsonb_each({PG_OBJECT}) AS t
    WHERE char_length(t.key) <= {KEY_MAX}""",
    f"""SELECT ITEM.id, t.key, (e.pos - 1)::int, ITEM.collection_id, true, {_pg_cols("e.value")}
    FROM jsonb_each({PG_OBJECT}) AS t,
        jsonb_array_elements(CASE WHEN jsonb_typeof(t.value) = 'array'
            THEN t.value ELSE '[]' END) WITH ORDINALITY AS e(value, pos)
    WHERE char_length(t.key) <= {KEY_MAX} AND jsonb_typeof(e.value) NOT IN ('array', 'object')""",
]


def _fill(selects: list[str], item: str) -> str:
    """The trigger body's inserts for one item row."""
    return "\n".join(
        f"INSERT INTO ls_item_values ({COLUMNS}) {sel.replace('ITEM', item)};" for sel in selects
    )


def _backfill(selects: list[str], each: str) -> list[str]:
    """The same inserts for every existing item."""
    return [
        f"INSERT INTO ls_item_values ({COLUMNS}) "
        + sel.replace("ITEM", "i").replace(f"FROM {each}", f"FROM ls_items AS i, {each}", 1)
        for sel in selects
    ]


SQLITE_UP = [
    f"""CREATE TRIGGER ls_item_values_ai AFTER INSERT ON ls_items BEGIN
        {_fill(SQLITE_SELECT, "new")}
    END""",
    f"""CREATE TRIGGER ls_item_values_au AFTER UPDATE OF metadata, collection_id ON ls_items BEGIN
        DELETE FROM ls_item_values WHERE item_id = old.id;
        {_fill(SQLITE_SELECT, "new")}
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ls_item_values_au",
    "DROP TRIGGER IF EXISTS ls_item_values_ai",
]
PG_UP = [
    f"""CREATE FUNCTION ls_item_values_sync() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM ls_item_values WHERE item_id = OLD.id;
        END IF;
        {_fill(PG_SELECT, "NEW")}
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ls_item_values_sync AFTER INSERT OR UPDATE OF metadata, collection_id
        ON ls_items FOR EACH ROW EXECUTE FUNCTION ls_item_values_sync()""",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS ls_item_values_sync ON ls_items",
    "DROP FUNCTION IF EXISTS ls_item_values_sync()",
]


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect not in ("sqlite", "postgresql"):  # pragma: no cover - only these two are supported
        raise StoreError(f"no metadata value index for {dialect}: use SQLite or PostgreSQL")
    op.create_table(
        "ls_item_values",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(KEY_MAX), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("elem", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("num", sa.Float()),
        sa.Column("txt", sa.Text().with_variant(sa.Text(collation="C"), "postgresql")),
        sa.PrimaryKeyConstraint("item_id", "key", "pos", name="pk_ls_item_values"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["ls_items.id"],
            name="fk_ls_item_values_item_id_ls_items",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ls_item_values_num",
        "ls_item_values",
        ["collection_id", "key", "elem", "num", "item_id"],
    )
    op.create_index(
        "ix_ls_item_values_str",
        "ls_item_values",
        ["collection_id", "key", "elem", "kind", "txt", "item_id"],
    )
    if dialect == "sqlite":
        statements = _backfill(SQLITE_SELECT, "json_each") + SQLITE_UP
    else:
        statements = _backfill(PG_SELECT, "jsonb_each") + PG_UP
    for stmt in statements:
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    for stmt in SQLITE_DOWN if dialect == "sqlite" else PG_DOWN:
        op.execute(stmt)
    op.drop_table("ls_item_values")
