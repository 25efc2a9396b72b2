"""Helpers for server tests: a company corpus with ACLs, keys, and a real `serve` process.

`serve()` runs `latentsearch serve` (uvicorn) on 127.0.0.1 with a free port and always stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import latentsearch as ls
from latentsearch.server import keystore
from latentsearch.testing.server_process import running_server

ENG = "group:eng"
SALES = "group:sales"
# Words that appear only in one side's private documents: finding one in the other side's
# results would be a leak.
ENG_SECRET = "wireguard"
SALES_SECRET = "acmecorp"

CORPUS = [
    {
        "id": "eng-vpn",
        "text": "VPN outage runbook: restart the wireguard gateway and rotate its keys.",
        "source": {"uri": "https://wiki.example/eng/vpn", "title": "VPN outage runbook"},
        "metadata": {"team": "eng", "type": "runbook"},
        "acl": [ENG],
    },
    {
        "id": "eng-db",
        "text": "Database failover: promote the wireguard-protected replica, then repoint services.",
        "source": {"uri": "https://wiki.example/eng/db", "title": "Database failover"},
        "metadata": {"team": "eng", "type": "runbook"},
        "acl": [ENG],
    },
    {
        "id": "sales-q3",
        "text": "Q3 pipeline review: the acmecorp renewal slipped; discount approved by finance.",
        "source": {"uri": "https://crm.example/q3", "title": "Q3 pipeline"},
        "metadata": {"team": "sales", "type": "report"},
        "acl": [SALES],
    },
    {
        "id": "sales-vpn",
        "text": "VPN outage on sales laptops running Windows: acmecorp demo environment unreachable.",
        "source": {"uri": "https://tickets.example/481", "title": "Ticket 481: sales VPN outage"},
        "metadata": {"team": "sales", "type": "ticket"},
        "acl": [SALES],
    },
    {
        "id": "pub-holidays",
        "text": "Company holiday calendar: offices close on public holidays and the last week of December.",
        "source": {"uri": "https://intranet.example/holidays", "title": "Holiday calendar"},
        "metadata": {"team": "hr", "type": "policy"},
        "acl": ["*"],
    },
    {
        "id": "pub-vpn-mac",
        "text": "How to install the VPN client on macOS laptops, for every employee.",
        "source": {"uri": "https://intranet.example/vpn-mac", "title": "VPN on macOS"},
        "metadata": {"team": "it", "type": "howto"},
        "acl": ["*"],
    },
    {
        "id": "handbook#1",
        "text": "Expenses: submit receipts within thirty days through the finance portal.",
        "source": {"uri": "https://intranet.example/handbook", "title": "Employee handbook"},
        "chunk": {"parent": "handbook", "start": 120, "end": 191},
        "metadata": {"team": "hr", "type": "policy"},
        "acl": ["*"],
    },
]
PRIVATE = {ENG: {"eng-vpn", "eng-db"}, SALES: {"sales-q3", "sales-vpn"}}


@dataclass(frozen=True, slots=True)
class Keys:
    alice: str  # reader, group eng
    bob: str  # reader, group sales
    writer: str  # writer, group eng
    admin: str  # admin, no groups
    revoked: str


def build(index: Path, database: str | None, *, images: Path | None = None) -> Keys:
    """Create the strict `docs` collection (and `photos` with a tiny CLIP at ``images``) and keys."""
    with ls.connect(index, database=database, device="cpu") as db:
        col = db.create_collection("docs", encoder="text", require_principals=True)
        col.add(CORPUS)
        if images is not None:
            from latentsearch.testing.tinyclip import shape_image

            photos = db.create_collection("photos", encoder=str(images), require_principals=True)
            folder = index / "pictures"
            folder.mkdir(parents=True, exist_ok=True)
            recs = []
            for color, shape, acl in (
                ("red", "circle", [ENG]),
                ("blue", "square", [SALES]),
                ("green", "triangle", ["*"]),
            ):
                path = folder / f"{color}-{shape}.png"
                shape_image(color, shape).save(path)
                recs.append(
                    {
                        "id": f"{color}-{shape}",
                        "image": str(path),
                        "acl": acl,
                        "source": {"title": f"A {color} {shape}"},
                        "metadata": {"color": color},
                    }
                )
            photos.add(recs)
        with db.store.transaction() as s:
            made = Keys(
                alice=keystore.create_key(s, "alice", ["eng"], "reader").key,
                bob=keystore.create_key(s, "bob", ["sales"], "reader").key,
                writer=keystore.create_key(s, "wendy", ["eng"], "writer").key,
                admin=keystore.create_key(s, "root", [], "admin").key,
                revoked=keystore.create_key(s, "mallory", ["eng", "sales"], "admin").key,
            )
            keystore.revoke_key(s, made.revoked)
    return made


def serve(index: Path, database: str | None = None, *, workers: int = 1):  # type: ignore[no-untyped-def]
    """A real `latentsearch serve` process (see latentsearch.testing.server_process)."""
    return running_server(index, database, workers=workers)
