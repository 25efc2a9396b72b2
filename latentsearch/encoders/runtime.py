"""Run an exported text model (see `export`) with ONNX Runtime or OpenVINO, on the CPU.

`ExportedTextModel` answers the few calls `SentenceTransformerEncoder` makes of a
SentenceTransformer (``encode``, ``get_embedding_dimension``, ``modalities``), so the encoder is
the same whichever backend runs it. Tokenising uses the model's own fast tokenizer (saved beside
the export); texts are sorted by token length so each batch pads as little as possible.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from latentsearch.encoders.export import META

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


class ExportedTextModel:
    """A text model exported to ``folder/model.onnx``, run by ``engine``."""

    modalities = ("text",)

    def __init__(self, folder: Path, engine: str) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((folder / META).read_text())
        self.folder = folder
        self.engine = engine
        self._inputs: list[str] = list(meta["inputs"])
        self._dim = int(meta["dim"])
        self.max_seq_length = int(meta["max_seq_length"])
        self._pad = int(meta["pad_id"])
        self._tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.enable_truncation(max_length=int(meta["max_seq_length"]))
        model = folder / "model.onnx"
        self._run = _onnxruntime(model) if engine == "onnxruntime" else _openvino(model)

    @cached_property
    def tokenizer(self) -> Any:
        """The model's Hugging Face tokenizer (the chunker sizes chunks with it)."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.folder))

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        normalize_embeddings: bool = False,
        **_: Any,
    ) -> np.ndarray:
        """Embed texts: ``(n, dim)`` float32, in input order."""
        ids = [e.ids for e in self._tok.encode_batch([t.strip() for t in texts])]
        out = np.empty((len(ids), self._dim), dtype=np.float32)
        order = np.argsort([-len(x) for x in ids], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = len(ids[rows[0]])
            tokens = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, j in enumerate(rows):
                tokens[r, : len(ids[j])] = ids[j]
                mask[r, : len(ids[j])] = 1
            feeds = {"input_ids": tokens, "attention_mask": mask}
            feeds["token_type_ids"] = np.zeros_like(tokens)
            out[rows] = self._run({k: feeds[k] for k in self._inputs})
        if normalize_embeddings:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def _onnxruntime(model: Path) -> Runner:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(session.run(None, feeds)[0], dtype=np.float32)  # thread-safe

    return run


def _openvino(model: Path) -> Runner:
    import openvino as ov

    compiled = ov.Core().compile_model(str(model), "CPU")
    local = threading.local()  # an infer request serves one thread at a time

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        if not hasattr(local, "request"):
            local.request = compiled.create_infer_request()
        result = local.request.infer(feeds)
        return np.array(result[0], dtype=np.float32)

    return run
