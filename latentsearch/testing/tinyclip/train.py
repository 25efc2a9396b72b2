"""The tiny CLIP model's configuration and its deterministic contrastive training."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from latentsearch.testing.tinyclip.shapes import IMAGE_SIZE, caption, classes, shape_image
from latentsearch.testing.tinyclip.tokenizer import BOS, EOS

_TRAIN_VARIANTS = 256  # jittered training images per (colour, shape)
_IMAGES_PER_CLASS = 4  # images of each class in every training batch
_PATCH_SIZE = 16
_LEARNING_RATE = 4e-3
_TRAIN_THREADS = 1  # fixed (results do not depend on core count); tiny ops gain nothing from more


def config(vocab: dict[str, int], max_length: int) -> Any:
    """A `transformers.CLIPConfig`: 2-layer text and vision towers, 64 wide, 32-d projections."""
    from transformers import CLIPConfig

    text_config = {
        "vocab_size": len(vocab),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": max_length,
        "bos_token_id": vocab[BOS],
        "eos_token_id": vocab[EOS],
        "pad_token_id": vocab[EOS],
    }
    vision_config = {
        "image_size": IMAGE_SIZE,
        "patch_size": _PATCH_SIZE,
        "num_channels": 3,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
    }
    return CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=32)


@contextmanager
def deterministic_torch(seed: int) -> Iterator[None]:
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


def train(model: Any, processor: Any, *, seed: int, steps: int) -> float:
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
    size = IMAGE_SIZE
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
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        with torch.no_grad():  # as in CLIP: keep the temperature in a sane range
            model.logit_scale.clamp_(0, 4.6052)
    model.eval()
    return float(loss.detach())
