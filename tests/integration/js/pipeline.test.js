'use strict';
// The Collector pipeline end to end, with real processes: Vivace as a collector running the seed
// configuration (memory_limiter → resource → tail_sampling → batch → two OTLP exporters + debug)
// in front of two Vivace backends, fed by the OpenTelemetry JS SDK; the persistent sending queue
// across a backend outage and a collector restart; the memory limiter under a real flood.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const api = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { VivaceServer, waitFor, sleep, sumMetric } = require('./lib/server');

const SEED = fs.readFileSync(path.join(__dirname, 'fixtures', 'otel-collector-config.yaml'), 'utf8');

/** The seed file with only host names and ports changed. */
function seedConfig(backendA, backendB) {
  const text = SEED
    .replace('endpoint: 0.0.0.0:4317', 'endpoint: 127.0.0.1:${OTLP_GRPC}')
    .replace('endpoint: 0.0.0.0:4318', 'endpoint: 127.0.0.1:${OTLP_HTTP}')
    .replace('endpoint: jaeger-collector:4317', `endpoint: ${backendA}`)
    .replace('endpoint: tempo:4317', `endpoint: ${backendB}`)
    .replace('endpoint: 0.0.0.0:13133', 'endpoint: 127.0.0.1:${HEALTH}')
    .replace('endpoint: 0.0.0.0:55679', 'endpoint: 127.0.0.1:${ZPAGES}')
    .replace('address: 0.0.0.0:8888', 'address: 127.0.0.1:${TELEMETRY}');
  for (const host of ['0.0.0.0:4317', 'jaeger-collector', 'tempo:4317', '13133', '55679', '8888']) {
    assert.ok(!text.includes(host), `seed config still names ${host}`);
  }
  return 'server:\n  http_listen: 127.0.0.1:${HTTP}\n  grpc_listen: 127.0.0.1:${GRPC}\n' + text;
}

async function getText(url) {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/** Sum of a Prometheus metric's samples whose labels include `labels`, from a /metrics URL. */
async function scrape(url, name, labels = {}) {
  return sumMetric((await getText(url)).body, name, labels);
}

/** A tracer provider exporting over OTLP/gRPC to `url`. */
function sdk(url, service) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 20, maxExportBatchSize: 512, maxQueueSize: 100000 })],
  });
  return { provider, tracer: provider.getTracer('pipeline-it') };
}

/**
 * One trace: root SERVER span of `durationMs` with two children; `error` sets ERROR on a child.
 * Returns the trace id (hex).
 */
function emit(tracer, { durationMs, error }) {
  const start = Date.now() - durationMs - 50;
  const root = tracer.startSpan('GET /checkout', { kind: api.SpanKind.SERVER, startTime: start }, api.ROOT_CONTEXT);
  const ctx = api.trace.setSpan(api.ROOT_CONTEXT, root);
  const a = tracer.startSpan('SELECT orders', { kind: api.SpanKind.CLIENT, startTime: start + 1 }, ctx);
  if (error) a.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
  a.end(start + 2);
  const b = tracer.startSpan('render', { startTime: start + 3 }, ctx);
  b.end(start + 4);
  root.end(start + durationMs);
  return root.spanContext().traceId;
}

/** Span count of a trace on a backend (0 when 404). */
async function spanCount(server, traceId) {
  const r = await server.get(`/api/traces/${traceId}`, { Accept: 'application/json' });
  if (r.status === 404) return 0;
  assert.strictEqual(r.status, 200, r.body.toString());
  const body = JSON.parse(r.body.toString());
  let n = 0;
  for (const b of body.batches || []) for (const ss of b.scopeSpans || b.instrumentationLibrarySpans || []) n += ss.spans.length;
  return n;
}

test('seed collector pipeline: tail sampling keeps every error and slow trace, ~10 % of the rest, in both backends', { timeout: 240000 }, async (t) => {
  const backendA = new VivaceServer();
  const backendB = new VivaceServer();
  await backendA.start();
  await backendB.start();
  const collector = new VivaceServer({
    config: seedConfig(backendA.otlpGrpcAddress, backendB.otlpGrpcAddress),
    extraPorts: ['HEALTH', 'ZPAGES', 'TELEMETRY'],
  });
  t.after(async () => { await collector.cleanup(); await backendA.cleanup(); await backendB.cleanup(); });
  await collector.start();
  const telemetry = `http://127.0.0.1:${collector.ports.TELEMETRY}/metrics`;

  assert.strictEqual((await getText(`http://127.0.0.1:${collector.ports.HEALTH}/`)).status, 200);

  const { provider, tracer } = sdk(collector.otlpGrpcUrl, 'shop');
  const errors = [], slow = [], normal = [];
  for (let i = 0; i < 40; i++) errors.push(emit(tracer, { durationMs: 20, error: true }));
  for (let i = 0; i < 40; i++) slow.push(emit(tracer, { durationMs: 1500, error: false }));
  for (let i = 0; i < 600; i++) normal.push(emit(tracer, { durationMs: 20, error: false }));
  await provider.forceFlush();

  const total = 3 * (errors.length + slow.length + normal.length);
  await waitFor(async () => (await scrape(telemetry, 'otelcol_receiver_accepted_spans_total', { receiver: 'otlp' })) === total,
    { timeoutMs: 30000, what: 'the collector accepting every span' });
  // decision_wait is 10 s (as written in the seed file), then batch's 5 s timeout at most.
  const traces = errors.length + slow.length + normal.length;
  await waitFor(async () => (await scrape(telemetry, 'otelcol_processor_tail_sampling_new_trace_id_received_total')) === traces &&
      (await scrape(telemetry, 'otelcol_processor_tail_sampling_global_count_traces_sampled_total')) === traces,
    { timeoutMs: 60000, what: 'every trace decided' });
  const sentA = async () => scrape(telemetry, 'otelcol_exporter_sent_spans_total', { exporter: 'otlp/jaeger' });
  const sentB = async () => scrape(telemetry, 'otelcol_exporter_sent_spans_total', { exporter: 'otlp/tempo' });
  const sampledSpans = await waitFor(async () => {
    const out = await scrape(telemetry, 'otelcol_processor_outgoing_items_total', { processor: 'batch' });
    const a = await sentA(), b = await sentB();
    return out > 0 && a === out && b === out ? out : 0;
  }, { timeoutMs: 30000, what: 'both exporters sending everything batch emitted' });

  // Every error and every slow trace is kept, whole, in both backends.
  for (const id of [...errors, ...slow]) {
    assert.strictEqual(await spanCount(backendA, id), 3, `trace ${id} in backend A`);
    assert.strictEqual(await spanCount(backendB, id), 3, `trace ${id} in backend B`);
  }
  // The probabilistic share: 600 traces at 10 % → mean 60, sd ≈ 7.3; 4 sd either side.
  const keptA = [], keptB = [];
  for (const id of normal) {
    if (await spanCount(backendA, id)) keptA.push(id);
    if (await spanCount(backendB, id)) keptB.push(id);
  }
  assert.deepStrictEqual(keptB, keptA, 'both exporters received the same decisions');
  assert.ok(keptA.length >= 31 && keptA.length <= 89, `probabilistic share ${keptA.length}/600 outside [31, 89]`);
  assert.strictEqual(sampledSpans, 3 * (errors.length + slow.length + keptA.length));

  // The resource processor upserted the seed's attributes.
  const r = await backendA.get(`/api/traces/${errors[0]}`, { Accept: 'application/json' });
  const attrs = JSON.parse(r.body.toString()).batches[0].resource.attributes;
  const attr = (k) => (attrs.find((a) => a.key === k) || {}).value;
  assert.deepStrictEqual(attr('environment'), { stringValue: 'production' });
  assert.deepStrictEqual(attr('cluster'), { stringValue: 'k8s-prod-01' });

  // Late spans follow the decision: a sampled trace's late span is forwarded, a dropped
  // trace's late span is not.
  const dropped = normal.find((id) => !keptA.includes(id));
  const sampled = errors[0];
  const late = (traceId) => {
    const parent = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId, spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    tracer.startSpan('late work', { startTime: Date.now() - 5 }, parent).end();
  };
  late(dropped);
  late(sampled);
  await provider.forceFlush();
  await waitFor(async () => (await spanCount(backendA, sampled)) === 4 && (await spanCount(backendB, sampled)) === 4,
    { timeoutMs: 20000, what: 'the late span of a sampled trace in both backends' });
  await waitFor(async () => (await scrape(telemetry, 'otelcol_receiver_accepted_spans_total', { receiver: 'otlp' })) === total + 2,
    { what: 'both late spans accepted' });
  await sleep(500);
  assert.strictEqual(await spanCount(backendA, dropped), 0, 'the late span of a dropped trace was not forwarded');

  // Self-telemetry, zpages and the debug exporter.
  assert.ok(await scrape(telemetry, 'otelcol_processor_tail_sampling_count_traces_sampled_total', { policy: 'error-policy', sampled: 'true' }) >= errors.length);
  assert.ok(await scrape(telemetry, 'otelcol_process_memory_rss') > 0);
  const pipelinez = await getText(`http://127.0.0.1:${collector.ports.ZPAGES}/debug/pipelinez`);
  assert.strictEqual(pipelinez.status, 200);
  for (const name of ['memory_limiter', 'resource', 'tail_sampling', 'batch', 'otlp/jaeger', 'otlp/tempo', 'debug']) {
    assert.ok(pipelinez.body.includes(name), `pipelinez lists ${name}`);
  }
  const tracez = await getText(`http://127.0.0.1:${collector.ports.ZPAGES}/debug/tracez`);
  assert.ok(tracez.body.includes('exporter/otlp/tempo/traces'));
  assert.match(collector.output, /Traces/, 'the debug exporter logged');
  await provider.shutdown();
});

test('persistent sending queue: a backend outage and a collector restart lose nothing', { timeout: 240000 }, async (t) => {
  const backend = new VivaceServer();
  await backend.start();
  await backend.stop();  // down from the start; its ports stay reserved for the restart
  const collector = new VivaceServer({
    config: `
server:
  http_listen: 127.0.0.1:\${HTTP}
  grpc_listen: 127.0.0.1:\${GRPC}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:\${OTLP_GRPC}
processors:
  batch:
    timeout: 200ms
exporters:
  otlp/backend:
    endpoint: ${backend.otlpGrpcAddress}
    tls:
      insecure: true
    retry_on_failure:
      initial_interval: 100ms
      max_interval: 1s
      max_elapsed_time: 0
    sending_queue:
      storage: file_storage/queue
extensions:
  file_storage/queue: {}
service:
  extensions: [file_storage/queue]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp/backend]
  telemetry:
    metrics:
      address: 127.0.0.1:\${TELEMETRY}
`,
    extraPorts: ['TELEMETRY'],
  });
  t.after(async () => { await collector.cleanup(); await backend.cleanup(); });
  await collector.start();
  const telemetry = () => `http://127.0.0.1:${collector.ports.TELEMETRY}/metrics`;

  const { provider, tracer } = sdk(collector.otlpGrpcUrl, 'queue');
  const ids = [];
  for (let i = 0; i < 50; i++) ids.push(emit(tracer, { durationMs: 10, error: i % 7 === 0 }));
  await provider.forceFlush();
  await provider.shutdown();
  await waitFor(async () => (await scrape(telemetry(), 'otelcol_receiver_accepted_spans_total', { receiver: 'otlp' })) === 150,
    { what: 'the collector accepting every span' });
  await waitFor(() => /otlp\/backend Exporting failed\. Will retry/.test(collector.output),
    { what: 'the exporter failing against the stopped backend and retrying' });
  assert.strictEqual(await scrape(telemetry(), 'otelcol_exporter_sent_spans_total', { exporter: 'otlp/backend' }), 0);

  const before = collector.output.length;
  await collector.stop();
  await collector.restart();
  const resumed = /resuming (\d+) requests \((\d+) spans\) from a previous run/.exec(collector.output.slice(before));
  assert.ok(resumed, 'the restarted collector resumed its persistent queue');
  assert.strictEqual(Number(resumed[2]), 150, 'every span was in the persistent queue');

  await backend.restart();
  await waitFor(async () => {
    for (const id of ids) if ((await spanCount(backend, id)) !== 3) return false;
    return true;
  }, { timeoutMs: 60000, what: 'every trace delivered after the backend returned' });
  await waitFor(async () => (await scrape(telemetry(), 'otelcol_exporter_queue_size', { exporter: 'otlp/backend' })) === 0,
    { what: 'the queue drained' });
});

test('memory_limiter refuses a real flood with 503 + Retry-After, reports unhealthy, and recovers', { timeout: 240000 }, async (t) => {
  const backend = new VivaceServer();
  await backend.start();
  await backend.stop();  // the exporter's backend is down: its queue fills the collector's memory
  const collector = new VivaceServer({
    config: `
server:
  http_listen: 127.0.0.1:\${HTTP}
  grpc_listen: 127.0.0.1:\${GRPC}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:\${OTLP_HTTP}
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 200
    spike_limit_mib: 50
exporters:
  otlp/backend:
    endpoint: ${backend.otlpGrpcAddress}
    tls:
      insecure: true
    retry_on_failure:
      initial_interval: 200ms
      max_interval: 500ms
      max_elapsed_time: 0
    sending_queue:
      queue_size: 100000
extensions:
  health_check:
    endpoint: 127.0.0.1:\${HEALTH}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [otlp/backend]
  telemetry:
    metrics:
      address: 127.0.0.1:\${TELEMETRY}
`,
    extraPorts: ['HEALTH', 'TELEMETRY'],
  });
  t.after(async () => { await collector.cleanup(); await backend.cleanup(); });
  await collector.start();
  const health = async () => (await getText(`http://127.0.0.1:${collector.ports.HEALTH}/`)).status;
  const telemetry = `http://127.0.0.1:${collector.ports.TELEMETRY}/metrics`;
  assert.strictEqual(await health(), 200);

  // ~1 MB OTLP/JSON requests: 200 spans with a 5 KB attribute each.
  const filler = 'x'.repeat(5000);
  let seq = 0;
  const request = () => {
    const spans = [];
    for (let i = 0; i < 200; i++) {
      seq++;
      spans.push({
        traceId: seq.toString(16).padStart(32, '0'),
        spanId: seq.toString(16).padStart(16, '0'),
        name: 'flood',
        startTimeUnixNano: '1700000000000000000',
        endTimeUnixNano: '1700000000001000000',
        attributes: [{ key: 'payload', value: { stringValue: filler } }],
      });
    }
    return JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] }, scopeSpans: [{ spans }] }] });
  };
  const post = async () => collector.postOtlp(request(), { 'Content-Type': 'application/json' });

  let refused = null, accepted = 0;
  for (let i = 0; i < 1500 && !refused; i++) {
    const r = await post();
    if (r.status === 200) accepted++;
    else if (r.status === 503) refused = r;
    else assert.fail(`unexpected status ${r.status}: ${r.body}`);
  }
  assert.ok(refused, `the memory limiter never refused (accepted ${accepted} requests)`);
  assert.ok(accepted > 10, `refused too early, after ${accepted} requests`);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After on the refusal');
  const rss = await scrape(telemetry, 'otelcol_process_memory_rss');
  assert.ok(rss > 150 * 1048576, `refusing while RSS is ${rss} bytes, under the soft limit`);
  assert.strictEqual(await health(), 503, 'unhealthy while refusing');
  assert.ok(await scrape(telemetry, 'otelcol_processor_memory_limiter_refused_spans_total') >= 200);
  assert.strictEqual(await scrape(telemetry, 'otelcol_receiver_refused_spans_total', { receiver: 'otlp' }) > 0, true);

  // The backend returns: the queue drains, memory is released, data is accepted again.
  await backend.restart();
  await waitFor(async () => (await health()) === 200, { timeoutMs: 90000, what: 'healthy again',
    describe: async () => `rss=${await scrape(telemetry, 'otelcol_process_memory_rss')}` });
  assert.strictEqual((await post()).status, 200, 'accepting again');
  await waitFor(async () => (await scrape(telemetry, 'otelcol_exporter_sent_spans_total', { exporter: 'otlp/backend' })) === (accepted + 1) * 200,
    { timeoutMs: 90000, what: 'every accepted span delivered' });
});
