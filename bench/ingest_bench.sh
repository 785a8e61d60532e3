#!/usr/bin/env bash
# Ingest benchmark: starts vivace (durable WAL: sync=always), sends the load generator's traces
# over OTLP/gRPC and OTLP/HTTP protobuf, and prints the SERVER's CPU-seconds per million spans
# (from /proc/<pid>/stat of the server alone, so the load generator's CPU does not count),
# spans/s and peak RSS. Usage: bench/ingest_bench.sh [spans per protocol] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${1:-1000000}
CONC=${2:-4}
BIN=build/bin
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/vivace-bench.XXXXXX)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

run() {
  local proto=$1
  local http grpc og oh
  http=$(free_port); grpc=$(free_port); og=$(free_port); oh=$(free_port)
  rm -rf "$WORK/data"
  "$BIN/vivace" serve --data-dir "$WORK/data" --http-listen 127.0.0.1:$http --grpc-listen 127.0.0.1:$grpc \
    --otlp-grpc-listen 127.0.0.1:$og --otlp-http-listen 127.0.0.1:$oh > "$WORK/server.log" 2>&1 &
  local pid=$!
  echo $pid > "$WORK/pid"
  for _ in $(seq 100); do curl -sf "127.0.0.1:$http/ready" > /dev/null && break; sleep 0.05; done
  local endpoint=127.0.0.1:$og
  [ "$proto" = http ] && endpoint=127.0.0.1:$oh
  local before after
  before=$(cpu_ticks $pid)
  local out
  out=$("$BIN/vivace-loadgen" --protocol "$proto" --endpoint "$endpoint" --spans "$SPANS" --concurrency "$CONC" --pregenerate)
  after=$(cpu_ticks $pid)
  local rss
  rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -TERM $pid; wait $pid || true
  local spans sps wire
  spans=$(sed -n 's/.* spans=\([0-9]*\) .*/\1/p' <<< "$out")
  sps=$(sed -n 's/.*spans_per_second=\([0-9]*\).*/\1/p' <<< "$out")
  wire=$(sed -n 's/.*wire_bytes_per_span=\([0-9.]*\).*/\1/p' <<< "$out")
  python3 - "$proto" "$spans" "$sps" "$wire" "$before" "$after" "$TICK" "$rss" <<'PY'
import sys
proto, spans, sps, wire, before, after, tick, rss = sys.argv[1:]
cpu = (int(after) - int(before)) / int(tick)
print(f"otlp-{proto:5s} spans={spans} server_cpu_s={cpu:.2f} cpu_s_per_million_spans={cpu / int(spans) * 1e6:.2f} "
      f"spans_per_s={sps} wire_bytes_per_span={wire} peak_rss_mb={int(rss) / 1024:.0f}")
PY
}

echo "# vivace ingest benchmark: $SPANS spans per protocol, concurrency $CONC, WAL sync=always"
run grpc
run http
