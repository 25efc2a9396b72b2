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

The package: `shapes` (colours, shapes, pictures, captions), `tokenizer`, `train` (configuration
and contrastive training), `build` (writing, reusing and replacing a model on disk) and
``python -m latentsearch.testing.tinyclip PATH`` (`__main__`).
"""

from latentsearch.testing.tinyclip.build import (
    DEFAULT_STEPS,
    GENERATOR_VERSION,
    build_tiny_clip,
    ensure_tiny_clip,
)
from latentsearch.testing.tinyclip.shapes import (
    COLORS,
    SHAPES,
    caption,
    classes,
    gallery,
    shape_image,
)

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
