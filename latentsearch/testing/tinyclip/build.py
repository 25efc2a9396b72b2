"""Build the tiny CLIP model on disk: write it beside its target, then rename it into place.

A finished model at the target is reused unless forced; ``force`` replaces only a model built
here, never a foreign folder; concurrent builders of one path keep the first finished model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from latentsearch.errors import InvalidInputError
from latentsearch.testing.tinyclip.shapes import COLORS, IMAGE_SIZE, SHAPES
from latentsearch.testing.tinyclip.tokenizer import write_tokenizer
from latentsearch.testing.tinyclip.train import config, deterministic_torch, train

log = logging.getLogger(__name__)

#: Bump when anything that changes the built model changes (layout, data, architecture, training).
GENERATOR_VERSION = 1

DEFAULT_STEPS = 400
_MODULE_DIR = "0_CLIPModel"
# The module's name before it moved into latentsearch.testing: kept so that the README of a built
# model stays byte-identical and models built before the move are still recognised as ours.
_MARKER = "latentsearch.tinyclip"


def _is_built(path: Path) -> bool:
    """Whether ``path`` holds a finished model (a build only ever appears there complete)."""
    return (path / "modules.json").is_file() and (
        path / _MODULE_DIR / "model.safetensors"
    ).is_file()


def _is_ours(path: Path) -> bool:
    """Whether ``path`` holds a model this module built (so ``force`` may replace it)."""
    readme = path / "README.md"
    return _is_built(path) and readme.is_file() and _MARKER in readme.read_text(encoding="utf-8")


def _write_model(folder: Path, *, seed: int, steps: int) -> dict[str, Any]:
    from importlib.metadata import version

    import torch
    import transformers
    from transformers import CLIPModel, CLIPProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    module = folder / _MODULE_DIR
    module.mkdir(parents=True)
    max_length = 32
    tokenizer = write_tokenizer(module, max_length)
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
    )
    image_processor.save_pretrained(str(module))  # preprocessor_config.json, as on the hub
    processor = CLIPProcessor(  # type: ignore[no-untyped-call]
        image_processor=image_processor, tokenizer=tokenizer
    )

    with deterministic_torch(seed):
        model = CLIPModel(config(tokenizer.get_vocab(), max_length))
        started = time.perf_counter()
        loss = train(model, processor, seed=seed, steps=steps)
        train_s = time.perf_counter() - started
    model.save_pretrained(str(module), safe_serialization=True)

    (folder / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": _MODULE_DIR,
                    "type": "sentence_transformers.models.CLIPModel",
                }
            ],
            indent=2,
        ),
        encoding="utf-8",
    )
    versions = {
        "sentence_transformers": version("sentence-transformers"),
        "transformers": transformers.__version__,
        "pytorch": torch.__version__,
    }
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"__version__": versions}, indent=2), encoding="utf-8"
    )
    meta = {
        "generator": _MARKER,
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "steps": steps,
        "final_loss": round(loss, 6),
    }
    (folder / "README.md").write_text(
        "# tiny CLIP (latentsearch.tinyclip)\n\n"
        "A tiny CLIP model trained for seconds on generated coloured shapes "
        f"(colours: {', '.join(COLORS)}; shapes: {', '.join(SHAPES)}), captions like "
        '"a red circle". For tests only.\n\n```json\n' + json.dumps(meta, indent=2) + "\n```\n",
        encoding="utf-8",
    )
    return {**meta, "train_seconds": train_s}


def build_tiny_clip(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    force: bool = False,
) -> Path:
    """Build, train and save the tiny CLIP model at ``path``; return ``path`` as a `Path`.

    If ``path`` already holds a finished model it is reused as is (whatever seed built it) unless
    ``force``; ``force`` replaces only a model built here, and a non-empty folder holding
    anything else is never replaced (`InvalidInputError`). The model is written into a temporary
    folder beside ``path`` and renamed into place at the end, so a half-written model never sits
    at ``path``; when two processes build the same path at once, the first finished model wins.

    Building with the default 400 steps takes about 15-25 s of one CPU core (training runs on one
    thread; more only slows such small ops down). With the same ``seed``, ``steps`` and software
    versions on the same kind of CPU, the weights are bit-identical.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InvalidInputError(f"steps must be a positive int, not {steps!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative int, not {seed!r}")
    target = Path(path)
    if _is_built(target) and not force:
        log.info("tiny CLIP model already built at %s; reusing it", target)
        return target
    if target.exists():
        if not target.is_dir():
            raise InvalidInputError(f"{target} exists and is not a folder")
        if any(target.iterdir()) and not _is_ours(target):
            raise InvalidInputError(
                f"{target} is a non-empty folder that holds no tiny CLIP model; refusing to replace it"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        meta = _write_model(tmp, seed=seed, steps=steps)
        if target.exists():
            if _is_built(target) and not force:  # another process finished first: keep its model
                log.info("tiny CLIP model appeared at %s while building; keeping it", target)
                return target
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            target.rename(trash / "model")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            tmp.rename(target)
        except OSError:
            if not _is_built(target):
                raise
            # another builder renamed its finished model into place first
            log.info("tiny CLIP model appeared at %s while building; keeping it", target)
            return target
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info(
        "built tiny CLIP model at %s in %.1f s (data + training %.1f s, %d steps, seed %d, "
        "final loss %.4f)",
        target,
        time.perf_counter() - started,
        meta["train_seconds"],
        steps,
        seed,
        meta["final_loss"],
    )
    return target


def ensure_tiny_clip(
    cache_dir: str | os.PathLike[str], *, seed: int = 0, steps: int = DEFAULT_STEPS
) -> Path:
    """The tiny CLIP model in ``cache_dir``, built on first use and reused afterwards.

    The folder name records the generator version, seed and steps, so changing any of them
    builds a fresh model instead of reusing a stale one.
    """
    name = f"tinyclip-v{GENERATOR_VERSION}-seed{seed}-steps{steps}"
    return build_tiny_clip(Path(cache_dir) / name, seed=seed, steps=steps)
