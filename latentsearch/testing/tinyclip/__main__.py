"""``python -m latentsearch.testing.tinyclip PATH``: build the tiny CLIP model at PATH."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from latentsearch.testing.tinyclip.build import DEFAULT_STEPS, build_tiny_clip


def main(argv: Sequence[str] | None = None) -> None:
    """Build the model at PATH (reused if already there) and print PATH."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m latentsearch.testing.tinyclip",
        description="Build the tiny CLIP model of coloured shapes (for demos and tests; no download).",
    )
    parser.add_argument(
        "path", help="folder to write the model to; reused when it already holds one"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--force", action="store_true", help="rebuild even if PATH holds a model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = build_tiny_clip(args.path, seed=args.seed, steps=args.steps, force=args.force)
    print(path)  # the CLI's output: where the model is


if __name__ == "__main__":
    main()
