"""The tiny CLIP model's world: coloured shapes, their pictures and their captions."""

from __future__ import annotations

import random
from collections.abc import Sequence

from PIL import Image, ImageDraw

from latentsearch.errors import InvalidInputError

#: Well separated colours (RGB) that the tiny model learns to name.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 30, 30),
    "green": (30, 160, 60),
    "blue": (30, 70, 225),
    "yellow": (240, 215, 25),
    "purple": (135, 45, 185),
    "orange": (245, 135, 20),
}

#: Shapes the tiny model learns to name.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "cross")

IMAGE_SIZE = 64  # pixels; `shape_image` default size, so the processor's resize/crop are no-ops


def _check_class(color: str, shape: str) -> None:
    if color not in COLORS:
        raise InvalidInputError(f"unknown colour {color!r}; expected one of {sorted(COLORS)}")
    if shape not in SHAPES:
        raise InvalidInputError(f"unknown shape {shape!r}; expected one of {list(SHAPES)}")


def caption(color: str, shape: str) -> str:
    """The caption the tiny model is trained on, e.g. ``caption("red", "circle") == "a red circle"``."""
    _check_class(color, shape)
    return f"a {color} {shape}"


def classes() -> list[tuple[str, str]]:
    """Every (colour, shape) pair, colours outer, in a fixed order."""
    return [(c, s) for c in COLORS for s in SHAPES]


def shape_image(color: str, shape: str, *, size: int = IMAGE_SIZE, seed: int = 0) -> Image.Image:
    """A ``size``×``size`` RGB picture of one coloured shape on a light grey background.

    ``seed`` drives small jitter in the shape's position and size and in the background shade, so
    each (colour, shape) has many distinct images; the same arguments always give the same pixels.
    """
    _check_class(color, shape)
    if not isinstance(size, int) or size < 16:
        raise InvalidInputError(f"size must be an int of at least 16 pixels, not {size!r}")
    rng = random.Random(f"tinyclip/{color}/{shape}/{seed}")  # str seeds are stable across runs
    scale = 4  # draw large, then downsample: smooth edges without depending on PIL's anti-aliasing
    big = size * scale
    shade = rng.randint(232, 250)
    img = Image.new("RGB", (big, big), (shade, shade, shade))
    draw = ImageDraw.Draw(img)
    r = big * rng.uniform(0.25, 0.31)  # half the shape's extent
    max_off = big * 0.07
    cx = big / 2 + rng.uniform(-max_off, max_off)
    cy = big / 2 + rng.uniform(-max_off, max_off)
    fill = COLORS[color]
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=fill)
    else:  # cross
        t = r * 0.34
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill)
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill)
    return img.reduce(scale)  # box filter, fast


def gallery(seeds: Sequence[int]) -> tuple[list[Image.Image], list[tuple[str, str]]]:
    """Images of every (colour, shape) for each seed, and their (colour, shape) labels."""
    images: list[Image.Image] = []
    labels: list[tuple[str, str]] = []
    for seed in seeds:
        for c, s in classes():
            images.append(shape_image(c, s, seed=seed))
            labels.append((c, s))
    return images, labels
