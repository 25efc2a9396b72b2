"""The tiny CLIP tokenizer: a real byte-level BPE `CLIPTokenizer` whose vocabulary holds the 256
byte symbols (so any text can be tokenized) plus merges that make every caption word one token."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentsearch.testing.tinyclip.shapes import COLORS, SHAPES

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"


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

    table = bytes_to_unicode()  # type: ignore[no-untyped-call]
    byte_symbols = [table[b] for b in range(256)]
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
    vocab[BOS] = len(vocab)  # special tokens last, as in CLIP (eos has the highest id)
    vocab[EOS] = len(vocab)
    return vocab, merges


def write_tokenizer(folder: Path, max_length: int) -> Any:
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
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")
    return tokenizer
