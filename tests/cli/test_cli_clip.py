"""Images and texts in one CLIP collection, built and searched through the CLI (tiny CLIP model)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import ROOT, run, run_json

import latentsearch as ls

IMAGES = ROOT / "samples" / "images"


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    shutil.copytree(IMAGES, folder / "shapes")
    (folder / "shapes" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image at all")
    (folder / "captions.md").write_text("a green triangle\n\na yellow square\n")
    return folder


def test_clip_collection_holds_images_and_texts(
    media: Path, tmp_path: Path, tiny_clip_path: Path, database: str | None
) -> None:
    db_args = ["--database", database] if database else []
    idx = ["--index", tmp_path / "idx", "--collection", "shapes", *db_args]
    s = run_json("build", media, *idx, "--encoder", tiny_clip_path)
    assert s["added"] == 11 and s["files"]["failed"] == 1
    assert s["failures"][0]["reason"].startswith("corrupt image")
    with ls.connect(tmp_path / "idx", database=database) as db:
        col = db.collection("shapes")
        red = col.get("shapes/red_circle.png")
        assert red.kind == "image" and red.metadata == {
            "width": 64,
            "height": 64,
            "format": "png",
            "path": "shapes/red_circle.png",
            "type": "png",
        }
        assert red.text == str(media / "shapes" / "red_circle.png")
        assert col.get("captions.md").kind == "text"

    hits = run_json("search", "a green triangle", *idx, "-k", "3")
    images = [h["id"] for h in hits if h["kind"] == "image"]
    assert images[0] == "shapes/green_triangle.png"
    by_image = run_json("search", "--image", IMAGES / "blue_cross.png", *idx, "-k", "2")
    assert by_image[0]["id"] == "shapes/blue_cross.png" and by_image[0]["score"] == pytest.approx(
        1.0, abs=1e-4
    )
    circle = f"image:{IMAGES / 'red_circle.png'}"
    moved = run_json("query", f'{circle} - "a red circle" + "a blue circle"', *idx, "-k", "3")
    assert moved[0]["id"] == "shapes/blue_circle.png"
    assert all(set(h["why"]) == {circle, "a red circle", "a blue circle"} for h in moved)
    recolored = run_json(
        "query", f'image:{IMAGES / "red_square.png"} - "red" + "yellow"', *idx, "-k", "1"
    )
    assert recolored[0]["id"] == "shapes/yellow_square.png"

    again = run_json("build", media, *idx)
    assert again["items_encoded"] == 0 and again["unchanged"] == 11


def test_images_in_a_text_collection_are_skipped(
    media: Path, tmp_path: Path, tiny_clip_path: Path
) -> None:
    s = run_json("build", media, "--index", tmp_path / "idx")
    assert s["added"] == 1 and s["files"]["skipped"] == 11 and s["failed"] == 0
    assert "reads text only" in s["skipped"][0]["reason"]
    result = run("search", "--image", IMAGES / "red_circle.png", "--index", tmp_path / "idx")
    assert result.exit_code == 2 and "Traceback" not in result.output
    mismatch = run("build", media, "--index", tmp_path / "idx", "--encoder", tiny_clip_path)
    assert mismatch.exit_code == 2 and "Vectors from different models never mix" in mismatch.stderr
    missing = run(
        "build", media, "--index", tmp_path / "other", "--encoder", tmp_path / "no-such-model"
    )
    assert missing.exit_code == 4 and "does not exist" in missing.stderr


def test_tinyclip_module_entry_point(tiny_clip_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "latentsearch.testing.tinyclip", str(tiny_clip_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0 and done.stdout.strip() == str(
        tiny_clip_path
    )  # an existing model is reused
