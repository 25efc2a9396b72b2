#!/usr/bin/env bash
# The latentsearch demo (`make demo`): everything through the `latentsearch` command.
#
# 1. Builds a text index over samples/docs (runbooks, product pages, policies) and
#    samples/tickets.jsonl (tickets with ACLs), then rebuilds it to show that nothing is re-embedded.
# 2. Searches it: plain, with a metadata filter, as a principal, and with vector arithmetic.
# 3. Syncs a folder, a git repository and a small SQL table with `latentsearch sync`
#    (sources.toml), searches the result with permissions, and answers a question with sources.
# 4. Builds a CLIP collection over samples/images with the tiny CLIP model (trained locally in
#    seconds: model weights can't be downloaded) and searches images by text and by image arithmetic.
# 5. Explores the space: samples around a red circle, the clusters of the texts, and ends by
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

# Sources: `latentsearch sync` keeps a collection in step with where company data lives.
# A folder (the sample policies and product pages, with their POSIX permissions), a git repository
# of runbooks, and a small SQL table (a SQLite file made here; PostgreSQL and MariaDB work the same
# through their URLs). See docs/sources.md.
"$PY" - "$OUT/products.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, blurb TEXT, readers TEXT, updated_at TEXT)")
db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", [
    ("VPN-1", "VPN appliance", "A hardware VPN gateway for branch offices, with automatic failover.", "*", "2026-01-05"),
    ("DB-2", "Managed database", "Replicated PostgreSQL with automatic failover and nightly backups.", "group:sales,group:it", "2026-01-06"),
    ("AUD-3", "Audit log add-on", "Keeps every admin action for seven years, for compliance teams.", "group:sales", "2026-01-07"),
])
db.commit()
PYEOF
# The runbooks live in a git repository (made here from the samples): synced by commit diff.
git init -q -b main "$OUT/runbooks"
cp samples/docs/runbooks/* "$OUT/runbooks/"
git -C "$OUT/runbooks" add -A
git -C "$OUT/runbooks" -c user.name=Demo -c user.email=demo@acme.example commit -qm "runbooks"

cat > "$OUT/sources.toml" <<EOF
[[source]]
name = "handbook"
type = "files"
collection = "company"
schedule = "1h"
[source.settings]
paths = ["$PWD/samples/docs/policies", "$PWD/samples/docs/product"]
posix_permissions = true

[[source]]
name = "products"
type = "sql"
collection = "company"
schedule = "*/15 * * * *"
[source.settings]
url = "sqlite:///$(realpath "$OUT")/products.db"
table = "products"
id = "sku"
text = ["name", "blurb"]
title = "name"
uri = "https://shop.acme.example/p/{sku}"
acl = "readers"
updated_at = "updated_at"

[[source]]
name = "runbooks"
type = "git"
collection = "company"
schedule = "15m"
[source.settings]
repo = "$(realpath "$OUT")/runbooks"
include = ["*.md", "*.rst"]
# CODEOWNERS-style: the last matching pattern wins.
owners = { "*" = ["*"], "database-*" = ["group:it"] }
uri = "https://git.acme.example/ops/runbooks/blob/{commit}/{path}#L{start}-L{end}"
EOF

step "Sync the sources: a folder, a git repository and a SQL table into the collection 'company'" \
    $LS sync "$OUT/sources.toml" "${IDX[@]}"

step "Sync again with --force (run now, due or not): only what changed since each cursor is read" \
    $LS sync "$OUT/sources.toml" "${IDX[@]}" --force

step "Each source's cursor, last run and counts" \
    $LS sources status "$OUT/sources.toml" "${IDX[@]}"

step "Search the synced collection as group:it (the products table's ACL column applies)" \
    $LS search "which product has automatic failover" "${IDX[@]}" --collection company -p group:it -k 3

step "Answer a question with sources: the best passages by document, and a summary citing them" \
    $LS answer "what do I do when the vpn keeps dropping" "${IDX[@]}" --collection company -k 4 -p group:it

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
