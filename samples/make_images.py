"""Regenerate the sample images (coloured shapes the tiny CLIP model knows): python samples/make_images.py"""

from pathlib import Path

from latentsearch.testing.tinyclip import shape_image

IMAGES = [
    ("red", "circle"),
    ("blue", "circle"),
    ("green", "circle"),
    ("red", "square"),
    ("blue", "square"),
    ("yellow", "square"),
    ("green", "triangle"),
    ("purple", "triangle"),
    ("orange", "cross"),
    ("blue", "cross"),
]

if __name__ == "__main__":
    folder = Path(__file__).parent / "images"
    folder.mkdir(exist_ok=True)
    for color, shape in IMAGES:
        shape_image(color, shape, seed=7).save(folder / f"{color}_{shape}.png", optimize=True)
    print(f"wrote {len(IMAGES)} images to {folder}")
