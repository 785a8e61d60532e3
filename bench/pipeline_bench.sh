#!/usr/bin/env bash
# Pipeline benchmark: starts vivace with a Collector pipeline and sends the load generator's
# traces over OTLP/gRPC; prints the SERVER's CPU-seconds per million spans received (from
# /proc/<pid>/stat, so the load generator does not count) once the pipeline has handed on
# everything (tail-sampling decisions made, batches flushed, storage written).
#   seed:   memory_limiter -> resource -> tail_sampling -> batch -> local storage
#           (the seed config's processors and values; decision_wait 10s, batch timeout 5s)
#   redact: attributes/redact alone -> local storage
#   none:   no processor -> local storage (the floor: receive + store)
# Usage: bench/pipeline_bench.sh [spans] [concurrency] [pipelines...]
set -euo pipefail
cd "$(dirname "$0")/.."
SPANS=${1:-1000000}
CONC=${2:-4}
shift 2 2>/dev/null || shift $#
PIPELINES=("$@")
[ ${#PIPELINES[@]} -eq 0 ] && PIPELINES=(seed redact none)
BIN=build/bin
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/vivace-pbench.XXXXXX)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
metric() {  # sum of a metric's samples whose line matches $2
  curl -s "127.0.0.1:$TEL/metrics" | awk -v m="$1" -v f="$2" '$1 ~ "^"m && index($1, f) {s += $2} END {printf "%d", s}'
}

processors_of() {
  case $1 in
    seed) echo "[memory_limiter, resource, tail_sampling, batch]" ;;
    redact) echo "[attributes/redact]" ;;
    none) echo "[]" ;;
  esac
}

run() {
  local name=$1 http grpc og
  http=$(free_port); grpc=$(free_port); og=$(free_port); TEL=$(free_port)
  rm -rf "$WORK/data"
  cat > "$WORK/config.yaml" <<YAML
storage:
  path: $WORK/data
server:
  http_listen: 127.0.0.1:$http
  grpc_listen: 127.0.0.1:$grpc
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$og
processors:
  batch:
    timeout: 5s
    send_batch_size: 1024
    send_batch_max_size: 2048
  memory_limiter:
    check_interval: 1s
    limit_mib: 1024
    spike_limit_mib: 256
  resource:
    attributes:
      - key: environment
        value: production
        action: upsert
      - key: cluster
        value: k8s-prod-01
        action: upsert
  tail_sampling:
    decision_wait: 10s
    num_traces: 100000
    expected_new_traces_per_sec: 1000
    policies:
      - name: error-policy
        type: status_code
        status_code:
          status_codes: [ERROR]
      - name: latency-policy
        type: latency
        latency:
          threshold_ms: 1000
      - name: probabilistic-policy
        type: probabilistic
        probabilistic:
          sampling_percentage: 10
  attributes/redact:
    actions:
      - key: user.email
        action: delete
      - key: http.request.body
        action: delete
exporters:
  vivace:
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: $(processors_of "$name")
      exporters: [vivace]
  telemetry:
    metrics:
      address: 127.0.0.1:$TEL
YAML
  "$BIN/vivace" serve --config "$WORK/config.yaml" > "$WORK/server.log" 2>&1 &
  local pid=$!
  echo $pid > "$WORK/pid"
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/ready" > /dev/null && break; sleep 0.05; done
  local before after out
  before=$(cpu_ticks $pid)
  local t0=$SECONDS
  out=$("$BIN/vivace-loadgen" --protocol grpc --endpoint "127.0.0.1:$og" --spans "$SPANS" --concurrency "$CONC" --pregenerate)
  local spans
  spans=$(sed -n 's/.* spans=\([0-9]*\) .*/\1/p' <<< "$out")
  # Drained: every trace decided (tail sampling), and the storage has stopped receiving.
  local last=-1 now
  for _ in $(seq 600); do
    now=$(metric otelcol_exporter_sent_spans_total 'exporter="vivace"')
    if [ "$(metric otelcol_processor_tail_sampling_new_trace_id_received_total '{')" = \
         "$(metric otelcol_processor_tail_sampling_global_count_traces_sampled_total '{')" ] && [ "$now" = "$last" ]; then
      break
    fi
    last=$now
    sleep 1
  done
  after=$(cpu_ticks $pid)
  local stored rss
  stored=$(metric otelcol_exporter_sent_spans_total 'exporter="vivace"')
  rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  kill -TERM $pid; wait $pid || true
  python3 - "$name" "$spans" "$stored" "$before" "$after" "$TICK" "$rss" <<'PY'
import sys
name, spans, stored, before, after, tick, rss = sys.argv[1:]
cpu = (int(after) - int(before)) / int(tick)
per_m = cpu / int(spans) * 1e6
print(f"pipeline={name:6s} spans={spans} stored={stored} server_cpu_s={cpu:.2f} "
      f"cpu_s_per_million_spans={per_m:.2f} spans_per_s_per_core={1e6 / per_m:,.0f} peak_rss_mb={int(rss) / 1024:.0f}")
PY
}

echo "# vivace pipeline benchmark: $SPANS spans over OTLP/gRPC, concurrency $CONC, WAL sync=always"
for p in "${PIPELINES[@]}"; do run "$p"; done
