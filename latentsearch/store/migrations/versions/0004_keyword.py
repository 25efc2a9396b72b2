"""Keyword index: SQLite FTS5 over item titles and texts, or a PostgreSQL tsvector with a GIN index.

Both are kept in step with ``ls_items`` by triggers, so every write transaction updates the
keyword index in the same transaction (and a rollback rolls it back too), whoever writes.

Revision ID: 0004_keyword
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

from latentsearch.errors import StoreError

revision = "0004_keyword"
down_revision = "0003_ingest"
branch_labels = None
depends_on = None

# DDL constants only: nothing here is built from user input.
SQLITE_UP = [
    """CREATE VIRTUAL TABLE ls_keyword_fts USING fts5(
        source_title, text, content='ls_items', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER ls_keyword_ai AFTER INSERT ON ls_items BEGIN
        INSERT INTO ls_keyword_fts(rowid, source_title, text)
        VALUES (new.id, new.source_title, new.text);
    END""",
    """CREATE TRIGGER ls_keyword_ad AFTER DELETE ON ls_items BEGIN
        INSERT INTO ls_keyword_fts(ls_keyword_fts, rowid, source_title, text)
        VALUES ('delete', old.id, old.source_title, old.text);
    END""",
    """CREATE TRIGGER ls_keyword_au AFTER UPDATE OF source_title, text ON ls_items BEGIN
        INSERT INTO ls_keyword_fts(ls_keyword_fts, rowid, source_title, text)
        VALUES ('delete', old.id, old.source_title, old.text);
        INSERT INTO ls_keyword_fts(rowid, source_title, text)
        VALUES (new.id, new.source_title, new.text);
    END""",
    "INSERT INTO ls_keyword_fts(ls_keyword_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ls_keyword_au",
    "DROP TRIGGER IF EXISTS ls_keyword_ad",
    "DROP TRIGGER IF EXISTS ls_keyword_ai",
    "DROP TABLE IF EXISTS ls_keyword_fts",
]

# The document vector: the title weighted 'A', then the text. BM25 (latentsearch/store/keyword.py)
# counts a title occurrence twice, so the document length ``len`` does too.
PG_TSV = (
    "setweight(to_tsvector('english'::regconfig, coalesce({r}.source_title, '')), 'A') || "
    "to_tsvector('english'::regconfig, coalesce({r}.text, ''))"
)
PG_LEN = (
    "(SELECT coalesce(sum(cardinality(u.positions) + cardinality(array_positions(u.weights, 'A'))), 0)"
    " FROM unnest({tsv}) AS u)"
)
PG_UP = [
    """CREATE TABLE ls_keyword (
        item_id BIGINT NOT NULL,
        collection_id BIGINT NOT NULL,
        tsv TSVECTOR NOT NULL,
        len INTEGER NOT NULL,
        CONSTRAINT pk_ls_keyword PRIMARY KEY (item_id),
        CONSTRAINT fk_ls_keyword_item_id_ls_items FOREIGN KEY (item_id)
            REFERENCES ls_items (id) ON DELETE CASCADE)""",
    "CREATE INDEX ix_ls_keyword_tsv ON ls_keyword USING GIN (tsv)",
    "CREATE INDEX ix_ls_keyword_collection_len ON ls_keyword (collection_id, len)",
    f"""CREATE FUNCTION ls_keyword_sync() RETURNS trigger
        LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE doc tsvector := {PG_TSV.format(r="NEW")};
    BEGIN
        INSERT INTO ls_keyword (item_id, collection_id, tsv, len)
        VALUES (NEW.id, NEW.collection_id, doc, {PG_LEN.format(tsv="doc")})
        ON CONFLICT (item_id) DO UPDATE SET tsv = EXCLUDED.tsv, len = EXCLUDED.len;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER ls_keyword_sync AFTER INSERT OR UPDATE OF source_title, text ON ls_items
        FOR EACH ROW EXECUTE FUNCTION ls_keyword_sync()""",
    f"""INSERT INTO ls_keyword (item_id, collection_id, tsv, len)
        SELECT d.id, d.collection_id, d.doc, {PG_LEN.format(tsv="d.doc")}
        FROM (SELECT i.id, i.collection_id, {PG_TSV.format(r="i")} AS doc FROM ls_items AS i) AS d""",
]
PG_DOWN = [
    "DROP TRIGGER IF EXISTS ls_keyword_sync ON ls_items",
    "DROP FUNCTION IF EXISTS ls_keyword_sync()",
    "DROP TABLE IF EXISTS ls_keyword",
]


def _run(statements: list[str]) -> None:
    for stmt in statements:
        op.execute(stmt)


def upgrade() -> None:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(PG_UP)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        raise StoreError(f"no keyword index for the {dialect} dialect: use SQLite or PostgreSQL")


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    _run(SQLITE_DOWN if dialect == "sqlite" else PG_DOWN)
