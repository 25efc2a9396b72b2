"""No package module is over about 350 lines: one concern per file (migrations aside)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "latentsearch"
MAX_LINES = 350


def test_no_module_is_over_350_lines() -> None:
    sizes = {
        path.relative_to(PACKAGE.parent).as_posix(): len(
            path.read_text(encoding="utf-8").splitlines()
        )
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    }
    assert len(sizes) > 50, "the scan found too few modules: is PACKAGE right?"
    over = sorted((n, name) for name, n in sizes.items() if n > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines (split them by concern):\n  " + "\n  ".join(
        f"{name}: {n}" for n, name in reversed(over)
    )
