#!/usr/bin/env bash
# Search benchmark: writes the load generator's default corpus (10 M spans unless given) into
# blocks with the storage benchmark's writer (or reuses a directory it left), then runs each
# TraceQL query class of bench/search_bench.cc over it.
# Usage: bench/search_bench.sh [spans] [dir]
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${1:-10000000}
if [ -n "${2:-}" ]; then
  DIR=$2
else
  DIR=$(mktemp -d /tmp/vivace-search-bench.XXXXXX)
  trap 'rm -rf "$DIR"' EXIT
fi
[ -d "$DIR/blocks" ] || build/bench/storage_bench write --dir "$DIR" --spans "$SPANS"
build/bench/search_bench --dir "$DIR"
