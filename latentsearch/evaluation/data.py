"""Reading evaluation inputs: queries (JSONL or TSV) and TREC qrels with graded relevance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from latentsearch.errors import InvalidInputError


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    text: str


Qrels = dict[str, dict[str, float]]  # query id -> document id -> relevance (gain); > 0 is relevant


def _read(path: Path, what: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise InvalidInputError(f"{what} file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{what} file {str(path)!r} is not UTF-8 text (byte {exc.start})"
        ) from None


def load_queries(path: str | Path) -> list[Query]:
    """Queries from JSONL (``{"id": ..., "text": ...}`` per line) or TSV (``id<TAB>text``).

    The format is taken from the extension (``.jsonl``/``.json`` or ``.tsv``/``.txt``), or
    from the first line when the extension says nothing.
    """
    path = Path(path)
    lines = _read(path, "queries")
    jsonl = path.suffix.lower() in (".jsonl", ".json", ".ndjson") or (
        path.suffix.lower() not in (".tsv", ".txt") and lines and lines[0].lstrip().startswith("{")
    )
    out: list[Query] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        q = _json_query(line, path, n) if jsonl else _tsv_query(line, path, n)
        if q.id in seen:
            raise InvalidInputError(f"{path}:{n}: query id {q.id!r} appears twice")
        seen.add(q.id)
        out.append(q)
    if not out:
        raise InvalidInputError(f"no queries in {path}")
    return out


def _json_query(line: str, path: Path, n: int) -> Query:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f'{path}:{n}: invalid JSON ({exc.msg}); each line must be {{"id": ..., "text": ...}}'
        ) from None
    if (
        not isinstance(row, dict)
        or "id" not in row
        or not isinstance(row.get("text"), str)
        or not row["text"].strip()
    ):
        raise InvalidInputError(
            f'{path}:{n}: each line must be {{"id": ..., "text": "..."}} with non-empty text'
        )
    return Query(str(row["id"]), row["text"])


def _tsv_query(line: str, path: Path, n: int) -> Query:
    qid, sep, text = line.partition("\t")
    if not sep or not qid.strip() or not text.strip():
        raise InvalidInputError(f"{path}:{n}: expected 'id<TAB>text'")
    return Query(qid.strip(), text.strip())


def load_qrels(path: str | Path) -> Qrels:
    """TREC qrels: ``qid iteration docid relevance`` per line (whitespace separated)."""
    path = Path(path)
    qrels: Qrels = {}
    for n, line in enumerate(_read(path, "qrels"), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise InvalidInputError(
                f"{path}:{n}: expected 'qid iteration docid relevance', got {len(parts)} fields"
            )
        qid, _it, doc, rel = parts
        try:
            grade = float(rel)
        except ValueError:
            raise InvalidInputError(f"{path}:{n}: relevance {rel!r} is not a number") from None
        qrels.setdefault(qid, {})[doc] = grade
    if not qrels:
        raise InvalidInputError(f"no judgements in {path}")
    return qrels
