#!/bin/sh
# GPU readiness in under 5 minutes on a machine with an NVIDIA GPU (see bench/gpu_check.py):
# every gpu-marked test, GPU-versus-CPU equality, and S2 at 1M on the GPU, as one table.
#   bench/gpu_check.sh            (after `make setup` with a GPU build of FAISS installed)
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=.
"$PY" -c "import faiss, sys; sys.exit(0 if faiss.get_num_gpus() else 'FAISS sees no GPU here (the faiss-gpu wheel make setup installs needs an NVIDIA driver): nothing to check')"
set +e
SUMMARY=$("$PY" -m pytest -m gpu -q -p no:cacheprovider 2>&1 | tail -1)
set -e
echo "gpu tests: $SUMMARY"
case "$SUMMARY" in *skipped*|*failed*|*error*|*"no tests ran"*) TESTS="$SUMMARY (NOT met)";; *) TESTS="$SUMMARY";; esac
exec "$PY" -m bench.gpu_check --tests "$TESTS"
