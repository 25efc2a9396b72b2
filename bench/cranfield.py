"""Cranfield: convert the collection for `latentsearch eval`, and check the reference nDCG@10.

    python bench/cranfield.py convert bench/data/cranfield OUT/
        writes OUT/docs.jsonl ({"id", "title", "text"}), OUT/queries.jsonl ({"id", "text"}) and
        OUT/qrels.txt (TREC: "qid 0 docid gain")

    python bench/cranfield.py run [--data DIR] [--work DIR]
        converts, builds an exact (Flat) index with the default model through the
        `latentsearch` command, runs `latentsearch eval` and prints one table beside the
        reference figure from the collection's README.

Format quirks handled (see the collection's README):
* fields open with a line holding only ``.T``, ``.A``, ``.B`` or ``.W``; ``.W`` repeats the title;
* the ``.I`` numbers in ``cran.qry`` are not the query ids: the i-th query is query i;
* grades: 1 (most relevant) to 4, and -1 (or 5) for not relevant: gain = 5 - grade for 1..4,
  else 0. The reference embeds title + text, so the document text is the title, a blank line
  and the ``.W`` text.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REFERENCE_NDCG10 = 0.382  # all-MiniLM-L6-v2, title + text, exact cosine search (README of the data)
DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "cranfield"  # vendored, see its README
_FIELD = re.compile(r"^\.([TABW])\s*$")


def parse_smart(path: Path) -> Iterator[dict[str, str]]:
    """Records of a SMART file: ``{"I": ..., "T": ..., "A": ..., "B": ..., "W": ...}``."""
    record: dict[str, str] | None = None
    field: str | None = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(".I "):
            if record is not None:
                yield record
            record, field = {"I": line[3:].strip()}, None
            continue
        m = _FIELD.match(line)
        if m and record is not None:
            field = m.group(1)
            record[field] = ""
        elif field is not None and record is not None:
            record[field] += line + "\n"
    if record is not None:
        yield record


def gain(grade: int) -> int:
    return 5 - grade if 1 <= grade <= 4 else 0


def documents(data: Path) -> Iterator[dict[str, str]]:
    """``{"id", "title", "text"}`` per document; the text is the title, a blank line and ``.W``."""
    for rec in parse_smart(data / "cran.all.1400"):
        title = " ".join(rec.get("T", "").split())
        text = rec.get("T", "").strip() + "\n\n" + rec.get("W", "").strip()
        yield {"id": rec["I"], "title": title, "text": text}


def queries(data: Path) -> Iterator[dict[str, str]]:
    """``{"id", "text"}`` per query; the i-th query has id ``str(i)``."""
    for i, rec in enumerate(parse_smart(data / "cran.qry"), start=1):
        yield {"id": str(i), "text": " ".join(rec.get("W", "").split())}


def qrels(data: Path) -> Iterator[tuple[str, str, int]]:
    """``(query id, document id, gain)`` per judgement."""
    for line in (data / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3:
            yield parts[0], parts[1], gain(int(parts[2]))


def convert(data: Path, out: Path) -> dict[str, int]:
    """Write docs.jsonl, queries.jsonl and qrels.txt under ``out``; return their counts."""
    out.mkdir(parents=True, exist_ok=True)
    n_docs = n_queries = n_qrels = 0
    with (out / "docs.jsonl").open("w", encoding="utf-8") as fh:
        for doc in documents(data):
            fh.write(json.dumps(doc) + "\n")
            n_docs += 1
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for q in queries(data):
            fh.write(json.dumps(q) + "\n")
            n_queries += 1
    with (out / "qrels.txt").open("w", encoding="utf-8") as fh:
        for qid, docid, g in qrels(data):
            fh.write(f"{qid} 0 {docid} {g}\n")
            n_qrels += 1
    return {"documents": n_docs, "queries": n_queries, "judgements": n_qrels}


def _cli(*args: str) -> str:
    cmd = [sys.executable, "-m", "latentsearch", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def run(data: Path, work: Path) -> None:
    counts = convert(data, work / "cranfield")
    index = work / "index"
    started = time.perf_counter()
    _cli(
        "build",
        str(work / "cranfield" / "docs.jsonl"),
        "--index",
        str(index),
        "--index-type",
        "Flat",
        "--json",
    )
    build_s = time.perf_counter() - started
    report = json.loads(
        _cli(
            "eval",
            "--index",
            str(index),
            "--queries",
            str(work / "cranfield" / "queries.jsonl"),
            "--qrels",
            str(work / "cranfield" / "qrels.txt"),
            "--json",
        )
    )
    print(
        f"Cranfield ({counts['documents']} docs, {counts['queries']} queries), all-MiniLM-L6-v2, Flat index"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; build {build_s:.0f} s"
    )
    print(f"{'metric':<12} {'latentsearch':>12} {'reference':>10} {'ratio':>7}")
    print(
        f"{'nDCG@10':<12} {report['ndcg']:>12.4f} {REFERENCE_NDCG10:>10.3f} {report['ndcg'] / REFERENCE_NDCG10:>7.3f}"
    )
    print(f"{'recall@100':<12} {report['recall']:>12.4f} {'-':>10} {'-':>7}")
    print(f"{'MRR@10':<12} {report['mrr']:>12.4f} {'-':>10} {'-':>7}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="convert the SMART files for latentsearch eval")
    c.add_argument("data", type=Path)
    c.add_argument("out", type=Path)
    r = sub.add_parser("run", help="convert, build, evaluate and compare with the reference")
    r.add_argument("--data", type=Path, default=DEFAULT_DATA)
    r.add_argument("--work", type=Path, default=Path("bench-out/cranfield"))
    args = parser.parse_args(argv)
    if args.cmd == "convert":
        counts = convert(args.data, args.out)
        print(
            f"wrote {counts['documents']} documents, {counts['queries']} queries, {counts['judgements']} judgements to {args.out}"
        )
    else:
        run(args.data.resolve(), args.work)


if __name__ == "__main__":
    main()
