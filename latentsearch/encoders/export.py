"""Export a sentence-transformers text model to ONNX (float32, and int8) in a per-user cache.

The cache is ``$LATENTSEARCH_CACHE/models/<fingerprint>/<variant>/`` (default
``~/.cache/latentsearch``), never the model's own folder (which may sit in site-packages). Each
variant folder holds ``model.onnx``, ``tokenizer.json`` and ``meta.json``; it is written in a
temporary folder beside it and renamed into place, so a reader sees a whole export or none, and
two processes exporting at once both end up with one complete copy. Later loads reuse it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from latentsearch.encoders.backends import EXPORT_NEEDS, missing
from latentsearch.errors import EncoderBackendError

log = logging.getLogger(__name__)

CACHE_ENV = "LATENTSEARCH_CACHE"
META = "meta.json"
FORMAT = 2  # bump when the export's layout changes: older exports are then made again
_lock = threading.RLock()  # re-entered: the int8 export first ensures the float32 one


def cache_root() -> Path:
    """Where exports live: ``$LATENTSEARCH_CACHE``, else ``~/.cache/latentsearch``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "latentsearch").expanduser()


def export_dir(fingerprint: str, variant: str) -> Path:
    return cache_root() / "models" / fingerprint / f"{variant}-v{FORMAT}"


def ensure_export(fingerprint: str, variant: str, load_torch: Callable[[], Any]) -> Path:
    """The folder of an ``"onnx"`` or ``"onnx-int8"`` export, exporting it first if needed.

    ``load_torch`` returns the float32 SentenceTransformer; it is called only when exporting.
    """
    target = export_dir(fingerprint, variant)
    if (target / META).is_file():
        return target
    with _lock:
        if (target / META).is_file():
            return target
        need = missing(EXPORT_NEEDS)
        if need:
            raise EncoderBackendError(
                f"exporting the model to ONNX needs {', '.join(need)}: pip install {' '.join(need)}"
            )
        if variant == "onnx-int8":
            source = ensure_export(fingerprint, "onnx", load_torch)
            return _publish(target, lambda tmp: _quantize(source, tmp))
        return _publish(target, lambda tmp: _export(load_torch(), tmp))


def _publish(target: Path, write: Callable[[Path], None]) -> Path:
    """Write into a temporary sibling folder, then rename it to ``target`` (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    started = time.perf_counter()
    log.info("exporting the encoder to %s (once; later loads reuse it)", target)
    try:
        write(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process published it first: keep theirs
            if not (target / META).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %s in %.1f s", target, time.perf_counter() - started)
    return target


def _export(model: Any, out: Path) -> None:
    """Trace the whole pipeline (transformer, pooling, normalize) to ``out/model.onnx``."""
    import torch

    features = model.preprocess(["an example sentence", "two"])
    names = [k for k, v in features.items() if isinstance(v, torch.Tensor)]

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.model(dict(zip(names, tensors, strict=True)))[
                "sentence_embedding"
            ]
            return out

    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "tokens"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    raw = out / "raw.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pipeline().eval(),
            tuple(features[n] for n in names),
            str(raw),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    _optimize(raw, out / "model.onnx", model)
    raw.unlink()
    model.tokenizer.save_pretrained(str(out))  # tokenizer.json, for the chunker its config too
    meta = {
        "inputs": names,
        "dim": int(model.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length),
        "pad_id": int(model.tokenizer.pad_token_id or 0),
        "variant": "onnx",
        "torch": torch.__version__,
    }
    (out / META).write_text(json.dumps(meta, indent=2))


def _optimize(raw: Path, dest: Path, model: Any) -> None:
    """Fuse LayerNorm/GELU/attention for BERT-like models; other graphs are kept as exported."""
    if missing({"onnxruntime": "onnxruntime"}):
        log.info("onnxruntime is not installed: the ONNX graph is kept unoptimised")
        shutil.copyfile(raw, dest)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    cfg = model[0].auto_model.config
    try:
        opt = optimize_model(
            str(raw),
            model_type="bert",
            num_heads=int(getattr(cfg, "num_attention_heads", 0)),
            hidden_size=int(getattr(cfg, "hidden_size", 0)),
            opt_level=1,
        )
        opt.save_model_to_file(str(dest))
    except Exception as exc:  # the optimiser is best effort: an unfused graph is still correct
        log.info("kept the ONNX graph unoptimised (%s)", exc)
        shutil.copyfile(raw, dest)


def _quantize(source: Path, out: Path) -> None:
    """int8 weights, per output channel (per-tensor int8 loses too much accuracy on MiniLM)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source / "model.onnx"),
        str(out / "model.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )
    for f in source.iterdir():
        if f.name not in ("model.onnx", META):
            shutil.copyfile(f, out / f.name)
    meta = json.loads((source / META).read_text())
    (out / META).write_text(json.dumps({**meta, "variant": "onnx-int8"}, indent=2))
