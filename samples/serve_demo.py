"""Serve the sample corpus: company docs and tickets with ACLs, two reader keys, the search page.

    python samples/serve_demo.py [--index indexes/company-demo] [--port 8080] [--database URL] [--no-serve]

Builds a strict collection `company` from samples/docs (chunked by paragraph, with character
offsets) and samples/tickets.jsonl. ACLs come from the folder: runbooks are for group:eng,
product pages for group:sales, policies for everyone; tickets keep their own ACLs. It then
creates keys for alice (eng, it) and bob (sales, support), prints them and runs `latentsearch
serve`: open the page, paste one key and then the other, and watch the results change.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import latentsearch as ls
from latentsearch.server import keystore

HERE = Path(__file__).resolve().parent
ACL_BY_FOLDER = {"runbooks": ["group:eng"], "product": ["group:sales"], "policies": ["*"]}
CHUNK_CHARS = 800


def plain_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        raw = re.sub(r"(?is)<(script|style).*?</\1>", " ", raw)
        raw = re.sub(r"<[^>]+>", " ", raw)
        raw = re.sub(r"[ \t]+", " ", raw)
    return raw


def chunks(text: str) -> list[tuple[int, int]]:
    """Paragraph-aligned spans of at most about CHUNK_CHARS characters."""
    spans, start, end = [], 0, 0
    for m in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\Z)", text, re.S):
        if end > start and m.end() - start > CHUNK_CHARS:
            spans.append((start, end))
            start = m.start()
        if not spans and end == 0:
            start = m.start()
        end = m.end()
    if end > start:
        spans.append((start, end))
    return spans


def records() -> list[dict]:
    out = []
    for path in sorted((HERE / "docs").rglob("*")):
        if not path.is_file():
            continue
        folder = path.parent.name
        text = plain_text(path)
        title = next((ln.strip("# ").strip() for ln in text.splitlines() if ln.strip()), path.stem)
        doc = f"{folder}/{path.stem}"
        for n, (a, b) in enumerate(chunks(text)):
            out.append(
                {
                    "id": f"{doc}#{n}",
                    "text": text[a:b],
                    "chunk": {"parent": doc, "start": a, "end": b},
                    "source": {"uri": f"file://{path}", "title": title[:200]},
                    "metadata": {"type": "doc", "team": folder},
                    "acl": ACL_BY_FOLDER.get(folder, ["*"]),
                }
            )
    tickets = HERE / "tickets.jsonl"
    if tickets.exists():
        for line in tickets.read_text().splitlines():
            t = json.loads(line)
            out.append(
                {
                    "id": t["id"],
                    "text": t["text"],
                    "source": {"uri": t.get("url"), "title": t.get("title")},
                    "metadata": {
                        "type": "ticket",
                        "team": t.get("team"),
                        "priority": t.get("priority"),
                        "status": t.get("status"),
                    },
                    "acl": t.get("acl", ["*"]),
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--index", type=Path, default=Path("indexes/company-demo"))
    ap.add_argument("--database", default=None)
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument(
        "--no-serve", action="store_true", help="build the collection and keys, then stop"
    )
    args = ap.parse_args()
    with ls.connect(args.index, database=args.database) as db:
        col = db.create_collection(
            "company", encoder="text", require_principals=True, exist_ok=True
        )
        result = col.upsert(records())
        with db.store.transaction() as s:
            alice = keystore.create_key(s, "alice", ["eng", "it"], "reader", note="demo").key
            bob = keystore.create_key(s, "bob", ["sales", "support"], "reader", note="demo").key
    print(
        f"collection 'company': {result.added} added, {result.updated} updated, {result.unchanged} unchanged"
    )
    print(f"alice (eng, it):       {alice}\nbob (sales, support):  {bob}")
    if args.no_serve:
        return
    print(f"open http://127.0.0.1:{args.port}/ and paste a key")
    from latentsearch.server.cli import serve

    serve(index=args.index, database=args.database, port=args.port)


if __name__ == "__main__":
    main()
