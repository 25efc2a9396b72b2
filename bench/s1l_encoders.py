"""S1L's encoders alone, interleaved: one long query at a time, per backend, on a shared machine.

    PYTHONPATH=. python -m bench.s1l_encoders [--n 50] [--backends torch,openvino,onnx,onnx-int8]

The first ``n`` Cranfield abstracts are embedded one at a time by each backend in turn (text i
by every backend before text i+1), so a noisy neighbour slows all of them alike; then the fp32
sgemm limit (`bench.s6_limits`, quick sizes). Prints p50 ms, GFLOP/s (`bench.s1_long.flops`) and
the share of the limit per backend. torch is what txtai, Chroma and LanceDB run.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import CRANFIELD
from bench.cranfield import documents
from bench.s1_long import flops, token_counts
from bench.s6_limits import limits
from latentsearch.encoders import get_encoder
from latentsearch.encoders.st import bundled_text_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--backends", default="torch,openvino,onnx,onnx-int8")
    args = ap.parse_args()
    texts = [d["text"] for d in documents(CRANFIELD) if d["text"].strip()][: args.n]
    encs = {b: get_encoder("text", device="cpu", backend=b) for b in args.backends.split(",")}
    for e in encs.values():
        for t in texts[:3]:
            e.encode_texts([t])
    secs: dict[str, list[float]] = {b: [] for b in encs}
    for t in texts:
        for b, e in encs.items():
            s = time.perf_counter()
            e.encode_texts([t])
            secs[b].append(time.perf_counter() - s)
    total = sum(flops(n) for n in token_counts(bundled_text_model(), texts))
    lim = limits(quick=True)
    print(
        f"{len(texts)} abstracts, one at a time; limit {lim['sgemm_gflops']:.1f} GFLOP/s ({lim['sgemm_how']})"
    )
    base = statistics.median(secs[next(iter(secs))])
    for b, s in secs.items():
        g = total / sum(s) / 1e9
        p50 = statistics.median(s)
        print(
            f"{b:10s} p50 {1e3 * p50:8.1f} ms  ({p50 / base:.2f}× {next(iter(secs))})  "
            f"{g:7.1f} GFLOP/s  {100 * g / lim['sgemm_gflops']:5.0f}% of the limit"
        )


if __name__ == "__main__":
    main()
