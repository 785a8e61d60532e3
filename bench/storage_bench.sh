#!/usr/bin/env bash
# Storage benchmark: writes the load generator's default corpus (10 M spans unless given) through
# the ingester's cut-and-flush path into blocks on local disk, looks traces up by ID (warm and
# cold, existing and absent), compacts until nothing is left, and looks them up again.
# Usage: bench/storage_bench.sh [spans] [dir]
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${1:-10000000}
DIR=${2:-$(mktemp -d /tmp/vivace-storage-bench.XXXXXX)}
BIN=build/bench/storage_bench
trap 'rm -rf "$DIR"' EXIT
"$BIN" write --dir "$DIR" --spans "$SPANS"
"$BIN" lookup --dir "$DIR"
"$BIN" compact --dir "$DIR"
"$BIN" lookup --dir "$DIR"
