#!/usr/bin/env bash
# Storage benchmark: writes the load generator's default corpus (10 M spans unless given) through
# the ingester's cut-and-flush path into blocks on local disk, looks traces up by ID (warm and
# cold, existing and absent), compacts until nothing is left, and looks them up again.
# Usage: bench/storage_bench.sh [spans] [dir]
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${1:-10000000}
BIN=build/bench/storage_bench
if [ -n "${2:-}" ]; then
  DIR=$2   # kept afterwards, for `vivace blocks` or another lookup run
else
  DIR=$(mktemp -d /tmp/vivace-storage-bench.XXXXXX)
  trap 'rm -rf "$DIR"' EXIT
fi
"$BIN" write --dir "$DIR" --spans "$SPANS"
"$BIN" lookup --dir "$DIR"
"$BIN" compact --dir "$DIR"
"$BIN" lookup --dir "$DIR"
