"""The sample documents (Markdown, reStructuredText, HTML) as a `samples` collection, for the
result-list tests: small chunks so documents have several passages, plus records that exercise
grouping under permissions and raw HTML markup.

``guide`` is one document of two passages with different ACLs: ``guide#1`` for everyone,
``guide#2`` for group:eng only. A sales key must see ``guide`` with one passage folded under it.
"""

from __future__ import annotations

from pathlib import Path

import latentsearch as ls
from latentsearch.ingest.build import build as ingest
from latentsearch.ingest.options import BuildOptions

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
ENG = "group:eng"
GUIDE_PUBLIC = "Parking: the visitor parking garage opens at seven and closes at midnight."
GUIDE_SECRET = "Parking for the hidden lab garage: ask the wireguard admin for a badge."
GUIDE = [
    {
        "id": "guide#1",
        "text": GUIDE_PUBLIC,
        "chunk": {"parent": "guide", "start": 0, "end": len(GUIDE_PUBLIC)},
        "source": {"uri": "https://intranet.example/guide", "title": "Office guide"},
        "acl": ["*"],
    },
    {
        "id": "guide#2",
        "text": GUIDE_SECRET,
        "chunk": {"parent": "guide", "start": 200, "end": 200 + len(GUIDE_SECRET)},
        "source": {"uri": "https://intranet.example/guide", "title": "Office guide"},
        "acl": [ENG],
    },
    {
        "id": "kiosk",
        "text": "<div><h2>Kiosk &amp; badges</h2><p>The <b>badge kiosk</b> prints visitor "
        "badges.</p><script>steal()</script><ul><li>Lobby</li><li>Garage</li></ul></div>",
        "source": {"uri": "https://intranet.example/kiosk.html", "title": "Badge kiosk"},
        "acl": ["*"],
    },
]
# Markup that must never reach the page from these sources.
MARKUP = ("**", "``", "<p", "<b>", "</", "&amp;", "===", "---", "## ", "steal()", "`")


def build_samples(index: Path, database: str | None) -> None:
    """samples/docs (every document readable by everyone) and `GUIDE` as collection `samples`."""
    with ls.connect(index, database=database, device="cpu") as db:
        col = db.create_collection("samples", encoder="text", require_principals=True)
        options = BuildOptions(
            sources=[str(SAMPLES / "docs")], chunk_size=48, chunk_overlap=8, acl=["*"]
        )
        summary = ingest(db, col, options)
        assert summary.failed == 0, summary
        col.add(GUIDE)
