"""A tiny, deterministic, locally trained CLIP model for tests and demos that need no network.

`build_tiny_clip` creates a small `transformers.CLIPModel` (a 2-layer ViT and a 2-layer text
transformer), trains it for a few seconds with the CLIP contrastive loss on generated pictures of
coloured shapes (`shape_image`) and their captions (`caption`), and saves it in the on-disk layout of
the hub model ``sentence-transformers/clip-ViT-B-32``::

    modules.json                        # one module: sentence_transformers.models.CLIPModel
    config_sentence_transformers.json
    README.md
    0_CLIPModel/config.json             # transformers CLIPConfig
    0_CLIPModel/model.safetensors
    0_CLIPModel/preprocessor_config.json
    0_CLIPModel/vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json

so ``SentenceTransformer(path)`` loads it through the same code path as the real CLIP model, and it
embeds both texts (``model.encode(["a red circle"])``) and PIL images
(``model.encode([PIL.Image.Image, ...])``) into one space.

The tokenizer is a real byte-level BPE `CLIPTokenizer` whose vocabulary holds the 256 byte symbols
(so any text can be tokenized) plus merges that make every caption word a single token.

Training (`DEFAULT_STEPS` = 400 steps, about 15-25 s on one CPU core) reaches perfect retrieval on
held-out jittered images: every caption ranks its own class first, and each image's nearest
neighbour is of its own class. With the same seed, steps and software the saved weights are
bit-identical: training runs on the CPU with a fixed seed, one thread and deterministic algorithms.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from latentsearch.errors import InvalidInputError

log = logging.getLogger(__name__)

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

#: Bump when anything that changes the built model changes (layout, data, architecture, training).
GENERATOR_VERSION = 1

DEFAULT_STEPS = 400
_IMAGE_SIZE = 64  # pixels; `shape_image` default size, so the processor's resize/crop are no-ops
_TRAIN_VARIANTS = 256  # jittered training images per (colour, shape)
_IMAGES_PER_CLASS = 4  # images of each class in every training batch
_PATCH_SIZE = 16
_LEARNING_RATE = 4e-3
_TRAIN_THREADS = 1  # fixed (results do not depend on core count); tiny ops gain nothing from more
_MODULE_DIR = "0_CLIPModel"
_BOS = "<|startoftext|>"
_EOS = "<|endoftext|>"


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


def shape_image(color: str, shape: str, *, size: int = _IMAGE_SIZE, seed: int = 0) -> Image.Image:
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


# --------------------------------------------------------------------------- tokenizer


def _bpe(word: str, merges: Sequence[tuple[str, str]]) -> list[str]:
    """Byte-pair-encode one ASCII word the way CLIP's BPE does (``</w>`` marks the word's end)."""
    ranks = {pair: i for i, pair in enumerate(merges)}
    symbols = [*word[:-1], word[-1] + "</w>"]
    while len(symbols) > 1:
        pairs = [
            (ranks.get((a, b), len(ranks)), i)
            for i, (a, b) in enumerate(itertools.pairwise(symbols))
        ]
        rank, i = min(pairs)
        if rank == len(ranks):
            break
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def _bpe_files() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A CLIP-style byte-level BPE vocabulary and merges in which each caption word is one token."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    byte_symbols = [bytes_to_unicode()[b] for b in range(256)]
    vocab: dict[str, int] = {}
    for sym in byte_symbols:
        vocab[sym] = len(vocab)
    for sym in byte_symbols:
        vocab[sym + "</w>"] = len(vocab)
    merges: list[tuple[str, str]] = []
    words = ["a", *COLORS, *SHAPES]
    # Add merges until BPE (lowest-ranked pair first) turns every word into one symbol. A new merge
    # ranks last, so it applies to the word it was made for once the older merges are exhausted.
    while True:
        pending = [p for p in (_bpe(w, merges) for w in words) if len(p) > 1]
        if not pending:
            break
        pair = (pending[0][0], pending[0][1])
        merges.append(pair)
        vocab.setdefault(pair[0] + pair[1], len(vocab))
    vocab[_BOS] = len(vocab)  # special tokens last, as in CLIP (eos has the highest id)
    vocab[_EOS] = len(vocab)
    return vocab, merges


def _write_tokenizer(folder: Path, max_length: int) -> Any:
    """Write vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json."""
    from transformers import CLIPTokenizer

    vocab, merges = _bpe_files()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )
    tokenizer = CLIPTokenizer(
        vocab=str(folder / "vocab.json"),
        merges=str(folder / "merges.txt"),
        model_max_length=max_length,
    )
    for word in ["a", *COLORS, *SHAPES]:
        pieces = tokenizer.tokenize(word)
        if pieces != [word + "</w>"]:  # pragma: no cover - guards the merge construction above
            raise RuntimeError(f"tiny CLIP tokenizer splits {word!r} into {pieces}")
    tokenizer.save_pretrained(str(folder))
    special = {"bos_token": _BOS, "eos_token": _EOS, "pad_token": _EOS, "unk_token": _EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    return tokenizer


# --------------------------------------------------------------------------- model + training


def _config(vocab: dict[str, int], max_length: int) -> Any:
    from transformers import CLIPConfig

    text_config = {
        "vocab_size": len(vocab),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": max_length,
        "bos_token_id": vocab[_BOS],
        "eos_token_id": vocab[_EOS],
        "pad_token_id": vocab[_EOS],
    }
    vision_config = {
        "image_size": _IMAGE_SIZE,
        "patch_size": _PATCH_SIZE,
        "num_channels": 3,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
    }
    return CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=32)


@contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
    """Seeded, single-configuration torch state for the block; the caller's state is restored."""
    import torch

    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(_TRAIN_THREADS)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was_deterministic)
            torch.set_num_threads(threads)


class _Normalizer:
    """What the CLIP image processor makes of native-size RGB pixels: rescale, then normalise."""

    def __init__(self, image_processor: Any) -> None:
        import torch

        self.scale = float(image_processor.rescale_factor)
        self.mean = torch.tensor(image_processor.image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(image_processor.image_std, dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, pixels: Any) -> Any:
        """uint8 ``(batch, 3, height, width)`` -> float32 model input."""
        return (pixels.float() * self.scale - self.mean) / self.std


def _train(model: Any, processor: Any, *, seed: int, steps: int) -> float:
    """CLIP contrastive training. Each batch holds every class caption once and
    ``_IMAGES_PER_CLASS`` random jittered images of each class; the loss is CLIP's symmetric
    cross-entropy, with each caption's probability spread evenly over its images. Returns the
    final loss."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    pairs = classes()
    n = len(pairs)
    texts = processor.tokenizer(
        [caption(c, s) for c, s in pairs], padding=True, return_tensors="pt"
    )
    size = _IMAGE_SIZE
    # short runs (tests of the build machinery) need fewer distinct images
    n_variants = min(_TRAIN_VARIANTS, steps * _IMAGES_PER_CLASS)
    images = [
        shape_image(c, s, size=size, seed=seed * 1_000_003 + v)
        for v in range(n_variants)
        for c, s in pairs
    ]
    # uint8 (variant, class, 3, H, W); normalised per batch, to keep memory small
    raw = np.stack([np.asarray(img.convert("RGB")) for img in images]).transpose(0, 3, 1, 2)
    pixels = torch.from_numpy(np.ascontiguousarray(raw)).reshape(n_variants, n, 3, size, size)
    normalize = _Normalizer(processor.image_processor)

    optimizer = torch.optim.AdamW(model.parameters(), lr=_LEARNING_RATE, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda i: min(1.0, (i + 1) / warmup) * max(0.05, 1 - i / max(1, steps))
    )
    generator = torch.Generator().manual_seed(seed)
    per_class = _IMAGES_PER_CLASS
    image_class = torch.arange(n).repeat(per_class)  # the class of each image in a batch
    targets = (image_class[None, :] == torch.arange(n)[:, None]).float()
    targets = targets / targets.sum(1, keepdim=True)  # each caption has `per_class` positives
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        variant = torch.randint(n_variants, (n * per_class,), generator=generator)
        out = model(
            input_ids=texts["input_ids"],
            attention_mask=texts["attention_mask"],
            pixel_values=normalize(pixels[variant, image_class]),
        )
        loss = (
            F.cross_entropy(out.logits_per_image, image_class)
            + F.cross_entropy(out.logits_per_text, targets)
        ) / 2
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():  # as in CLIP: keep the temperature in a sane range
            model.logit_scale.clamp_(0, 4.6052)
    model.eval()
    return float(loss.detach())


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
    tokenizer = _write_tokenizer(module, max_length)
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": _IMAGE_SIZE},
        crop_size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE},
    )
    image_processor.save_pretrained(str(module))  # preprocessor_config.json, as on the hub
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)

    with _deterministic_torch(seed):
        model = CLIPModel(_config(tokenizer.get_vocab(), max_length))
        started = time.perf_counter()
        loss = _train(model, processor, seed=seed, steps=steps)
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


def gallery(seeds: Sequence[int]) -> tuple[list[Image.Image], list[tuple[str, str]]]:
    """Images of every (colour, shape) for each seed, and their (colour, shape) labels."""
    images: list[Image.Image] = []
    labels: list[tuple[str, str]] = []
    for seed in seeds:
        for c, s in classes():
            images.append(shape_image(c, s, seed=seed))
            labels.append((c, s))
    return images, labels


__all__ = [
    "COLORS",
    "DEFAULT_STEPS",
    "GENERATOR_VERSION",
    "SHAPES",
    "build_tiny_clip",
    "caption",
    "classes",
    "ensure_tiny_clip",
    "gallery",
    "shape_image",
]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m latentsearch.tinyclip PATH``: build the model at PATH (reused if already there)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m latentsearch.tinyclip",
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
