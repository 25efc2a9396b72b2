"""Small real input files for the CLI tests: text, Markdown, reST, HTML, PDF, JSONL, JSON, CSV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from latentsearch.cli import app

ROOT = Path(__file__).resolve().parents[1]

LONG_PARAGRAPHS = [
    "Incident response starts with the pager. The on-call engineer acknowledges the alert within five minutes "
    "and opens an incident channel named after the date and the affected service.",
    "The incident commander assigns roles: one person investigates, one communicates with customers on the "
    "status page, and one writes the timeline as events happen.",
    "Mitigation comes before diagnosis. Roll back the last deployment, fail over to the other region or shed "
    "load before looking for the root cause. Record every action with its time.",
    "When the service is stable, the commander declares the incident resolved, thanks the responders and "
    "schedules a blameless post-mortem within three working days.",
    "The post-mortem lists contributing factors rather than a single root cause, and every action item gets an "
    "owner and a due date. Action items are reviewed every week until they are closed.",
]


def run(*args: str) -> Any:
    """Invoke the real CLI app in-process (typer's runner); stdout and stderr stay separate."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def subprocess_cli(
    *args: str, timeout: float = 300, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m latentsearch`` (the real entry point) in a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **kwargs.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "latentsearch", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=kwargs.pop("cwd", ROOT),
        **kwargs,
    )


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing ``lines`` in Helvetica (pypdf extracts them)."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = (
        "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def write_corpus(root: Path) -> Path:
    """One file of every supported text type (and a long one that gets chunked) under ``root``."""
    docs = root / "docs"
    (docs / "runbooks").mkdir(parents=True)
    (docs / "product").mkdir()
    (docs / "runbooks" / "vpn.md").write_text(
        "# VPN troubleshooting\n\nRestart the WireGuard client when the VPN keeps disconnecting. "
        "Check the laptop clock: a wrong clock breaks the handshake.\n"
    )
    (docs / "runbooks" / "failover.rst").write_text(
        "Database failover\n=================\n\nPromote the replica with pg_ctl promote when the primary "
        "database is lost, then repoint the DNS record.\n"
    )
    (docs / "runbooks" / "incidents.txt").write_text(
        "Incident handbook\n\n" + "\n\n".join(LONG_PARAGRAPHS * 3)
    )
    (docs / "product" / "release.html").write_text(
        "<html><head><title>Release 2.4</title></head><body><nav>Home | Docs</nav><article>"
        "<h1>Release 2.4</h1><p>Scheduled exports send dashboards as PDF or CSV files every week to "
        "a list of recipients.</p><p>Single sign-on with SAML identity providers is now available.</p>"
        "</article><footer>Copyright Acme</footer></body></html>"
    )
    (docs / "product" / "handbook.pdf").write_bytes(
        make_pdf(
            ["Employee handbook", "Holidays: every employee gets 28 days of paid leave a year."]
        )
    )
    records = root / "records"
    records.mkdir()
    tickets = [
        {
            "id": "T-1",
            "title": "VPN drops",
            "text": "My VPN disconnects every few minutes on Windows.",
            "acl": ["group:it"],
            "team": "it",
            "priority": 1,
            "url": "https://t.example/T-1",
        },
        {
            "id": "T-2",
            "title": "Refund",
            "text": "The customer asks for a refund of the annual plan.",
            "acl": ["group:support"],
            "team": "support",
            "priority": 2,
            "metadata": {"region": "eu"},
        },
        {
            "id": "T-3",
            "text": "The dashboard PDF export is blank since the upgrade.",
            "team": "eng",
            "priority": 1,
        },
    ]
    (records / "tickets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tickets))
    (records / "products.json").write_text(
        json.dumps(
            [
                {
                    "id": "A-100",
                    "name": "Analytics Pro",
                    "text": "Dashboards, scheduled exports and SSO.",
                    "price": 49.5,
                },
                {
                    "id": "A-200",
                    "name": "Analytics Lite",
                    "text": "Dashboards for small teams.",
                    "price": 9.0,
                },
            ]
        )
    )
    (records / "faq.csv").write_text(
        "id,text,title,acl,category\n"
        'F-1,"Seats are counted per user who logged in during the month.",Seats,group:sales;group:support,billing\n'
        "F-2,Non-profits get half price on every plan.,Discounts,,billing\n"
    )
    return root
