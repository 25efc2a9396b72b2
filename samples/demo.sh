#!/usr/bin/env bash
# The latentsearch demo (`make demo`): everything through the `latentsearch` command.
#
# 1. Builds a text index over samples/docs (runbooks, product pages, policies) and
#    samples/tickets.jsonl (tickets with ACLs), then rebuilds it to show that nothing is re-embedded.
# 2. Searches it: plain, with a metadata filter, as a principal, and with vector arithmetic.
# 3. Builds a CLIP collection over samples/images with the tiny CLIP model (trained locally in
#    seconds: model weights can't be downloaded) and searches images by text and by image arithmetic.
# 4. Explores the space: samples around a red circle, the clusters of the texts, and ends by
#    writing a map of the sample corpus (indexes/demo/map.html, self-contained) and saying where.
#
# Indexes go to indexes/demo (git-ignored). Override the command with LATENTSEARCH=...
set -euo pipefail
cd "$(dirname "$0")/.."

VENV_BIN="${VENV:-.venv}/bin"
LS="${LATENTSEARCH:-$VENV_BIN/latentsearch}"
PY="${PYTHON:-$VENV_BIN/python}"
OUT="${DEMO_DIR:-indexes/demo}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

step() {
    printf '\n\033[1;34m== %s\033[0m\n' "$1"
    shift
    printf '\033[2m$ %s\033[0m\n' "$*"
    "$@"
}

rm -rf "$OUT"
mkdir -p "$OUT"
IDX=(--index "$OUT/index")
started=$SECONDS

step "Build a text index: runbooks, product pages, policies (md, rst, txt, html) and tickets (jsonl)" \
    $LS build samples/docs samples/tickets.jsonl "${IDX[@]}"

step "Build again: unchanged files are skipped and nothing is re-embedded" \
    $LS build samples/docs samples/tickets.jsonl "${IDX[@]}"

step "Search by meaning (one hit per document, the best passage shown)" \
    $LS search "my vpn keeps dropping when I work from home" "${IDX[@]}" -k 3

step "Filter on metadata and search as a member of group:support (ACLs are enforced)" \
    $LS search "customer wants their money back" "${IDX[@]}" -k 3 --where '{"status": "open"}' -p group:support

step "group:finance sees the shared documents and its own ticket, nothing else" \
    $LS search "expense claim rejected" "${IDX[@]}" -k 3 -p group:finance

step "Vector arithmetic: the Windows VPN ticket, minus Windows, plus the internal wiki" \
    $LS query '@TICKET-101 - "windows" + "internal wiki"' "${IDX[@]}" -k 3

step "Analogy: the disk-full ticket is to disks what ? is to databases" \
    $LS analogy -P @TICKET-105 -P "database replication" -N "disk space" "${IDX[@]}" -k 3

step "What is in the index" \
    $LS info "${IDX[@]}"

step "Train the tiny CLIP model of coloured shapes (reused when already built)" \
    $PY -m latentsearch.testing.tinyclip indexes/tiny-clip

step "Build a CLIP collection over the sample images" \
    $LS build samples/images "${IDX[@]}" --collection shapes --encoder indexes/tiny-clip

step "Text -> image search" \
    $LS search "a blue square" "${IDX[@]}" --collection shapes -k 3

step "Image arithmetic: the red circle, made blue" \
    $LS query 'image:samples/images/red_circle.png - "a red circle" + "a blue circle"' "${IDX[@]}" --collection shapes -k 3

step "Image arithmetic: the red square, made yellow" \
    $LS query 'image:samples/images/red_square.png - "red" + "yellow"' "${IDX[@]}" --collection shapes -k 3

step "Sampling: new members of the region around a red circle" \
    $LS sample 4 "${IDX[@]}" --collection shapes --around "a red circle" --seed 1

step "The clusters of the text corpus, labelled by their distinctive terms" \
    $LS clusters "${IDX[@]}"

step "A map of the sample corpus: clusters, labels, and a query with its hits ringed" \
    $LS map "${IDX[@]}" --color-by team --query "vpn keeps disconnecting" --out "$OUT/map.html"

printf '\n\033[1;32mDemo finished in %d s.\033[0m The map of the sample corpus is %s/map.html: open it in a browser (it needs no server).\n' \
    $((SECONDS - started)) "$OUT"
printf 'Try: %s search "your question" --index %s/index\n' "$LS" "$OUT"
