'use strict';
// TraceQL search end to end (issue #4): traces sent by the real OpenTelemetry JS SDK are found
// through Tempo's /api/search while they are live (in the ingester) and again once the
// background flusher has cut them into blocks, with the same answers; `vivace query` gives the
// same answer against the running server and against the data directory (offline).
//
// Expected answers are computed from what the SDK acknowledged, not written down: trace i has a
// SERVER root "GET /item/i" (service search-it) lasting 100 + i ms, a CLIENT child whose
// db.system is "redis" when i % 3 == 0 (else "postgresql") and whose status is ERROR when
// i % 4 == 0, and an INTERNAL grandchild under the child.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const api = require('@opentelemetry/api');

const { VivaceServer, waitFor, VIVACE_BIN } = require('./lib/server');
const { emitSpans } = require('./lib/otel');

const run = promisify(execFile);
const CONFIG = `
ingester:
  trace_idle_period: 1s
  max_block_duration: 2s
  flush_check_period: 500ms
storage:
  blocklist_poll: 1s
`;
const TRACES = 36;
const BASE_S = Math.floor(Date.now() / 1000) - 600;  // ten minutes ago
const RANGE = `&start=${BASE_S - 60}&end=${BASE_S + 600}`;

const server = new VivaceServer({ config: CONFIG });
const traces = [];  // { i, traceId, rootStartNs, childSpanId }

function hexToTempo(id) { return id.replace(/^0+/, '') || '0'; }

async function search(q, params = '') {
  const res = await server.get(`/api/search?q=${encodeURIComponent(q)}${params}${RANGE}`);
  assert.equal(res.status, 200, `${q}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

// Trace ids of an answer, in its order.
const ids = (answer) => (answer.traces || []).map((t) => t.traceID);

// The expected ids for a predicate over trace indexes, most recent root first.
function expect(pred, limit = TRACES) {
  return traces.filter((t) => pred(t.i))
    .sort((a, b) => (b.rootStartNs > a.rootStartNs ? 1 : b.rootStartNs < a.rootStartNs ? -1 : 0))
    .slice(0, limit)
    .map((t) => hexToTempo(t.traceId));
}

const QUERIES = [
  { q: '{ span.db.system = "redis" && status = error }', pred: (i) => i % 12 === 0 },
  { q: '{ span.db.system = "redis" } && { status = error }', pred: (i) => i % 12 === 0 },
  { q: '{ kind = server && resource.service.name = "search-it" } > { span.db.system = "redis" }', pred: (i) => i % 3 === 0 },
  { q: '{ kind = client } >> { name = "cache.lookup" }', pred: () => true },
  { q: '{ duration > 120ms && kind = server }', pred: (i) => 100 + i > 120 },
  { q: '{ name =~ "GET /item/1[0-9]" }', pred: (i) => i >= 10 && i <= 19 },
  { q: '{ span.item.index >= 30 }', pred: (i) => i >= 30 },
  { q: '{ status = error } | count() = 1', pred: (i) => i % 4 === 0 },
  { q: '{ } | by(resource.service.name) | avg(duration) > 1s', pred: () => false },
  { q: '{ span.db.system = "no-such-db" }', pred: () => false },
];

async function checkAll(phase) {
  for (const { q, pred } of QUERIES) {
    const answer = await search(q, '&limit=100&spss=0');
    assert.deepEqual(ids(answer), expect(pred), `${phase}: ${q}`);
  }
  // limit: exactly the most recent ones.
  const five = await search('{ kind = client }', '&limit=5');
  assert.deepEqual(ids(five), expect(() => true, 5), `${phase}: limit 5`);
  // The matched span, its attributes as the query names them, and the root's details.
  const one = await search('{ span.db.system = "redis" && status = error }', '&limit=1');
  const want = traces.filter((t) => t.i % 12 === 0).sort((a, b) => (b.rootStartNs > a.rootStartNs ? 1 : -1))[0];
  const t = one.traces[0];
  assert.equal(t.rootServiceName, 'search-it');
  assert.equal(t.rootTraceName, `GET /item/${want.i}`);
  assert.equal(t.durationMs, Math.floor(((100 + want.i) * 1e6 - want.i) / 1e6));  // the root starts i ns late
  assert.equal(t.spanSets[0].matched, 1);
  assert.equal(t.spanSets[0].spans[0].spanID, want.childSpanId);
  const keys = t.spanSets[0].spans[0].attributes.map((a) => a.key).sort();
  assert.deepEqual(keys, ['db.system', 'status']);
  assert.ok(Number(one.metrics.inspectedTraces) >= 1, `${phase}: metrics ${JSON.stringify(one.metrics)}`);
}

describe('TraceQL search over live data and blocks', { timeout: 120000 }, () => {
  before(async () => {
    await server.start();
    const { results } = await emitSpans('otlp-http', server, { resource: { 'service.name': 'search-it' } }, (tracer) => {
      for (let i = 0; i < TRACES; i++) {
        const t = (ms, ns = 0) => [BASE_S + i * 5 + Math.floor(ms / 1000), (ms % 1000) * 1e6 + ns];
        const root = tracer.startSpan(`GET /item/${i}`, {
          kind: api.SpanKind.SERVER, startTime: t(0, i), attributes: { 'item.index': i, 'http.request.method': 'GET' },
        }, api.ROOT_CONTEXT);
        const child = tracer.startSpan(i % 3 === 0 ? 'cache.get' : 'db.select', {
          kind: api.SpanKind.CLIENT, startTime: t(10), attributes: { 'db.system': i % 3 === 0 ? 'redis' : 'postgresql' },
        }, api.trace.setSpan(api.ROOT_CONTEXT, root));
        if (i % 4 === 0) child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
        const grandchild = tracer.startSpan('cache.lookup', { startTime: t(20) }, api.trace.setSpan(api.ROOT_CONTEXT, child));
        grandchild.end(t(30));
        child.end(t(50));
        root.end(t(100 + i));
        traces.push({
          i, traceId: root.spanContext().traceId, childSpanId: child.spanContext().spanId,
          rootStartNs: BigInt(BASE_S + i * 5) * 1000000000n + BigInt(i),
        });
      }
    });
    assert.ok(results.every((r) => r.code === 0), 'the SDK export failed');
  });
  after(async () => { await server.cleanup(); });

  it('answers from live data', async () => {
    assert.ok(await server.metric('vivace_ingester_live_spans') > 0, 'the traces were flushed before the live check');
    await checkAll('live');
  });

  it('answers the same from blocks once flushed', async () => {
    await waitFor(async () => (await server.metric('vivace_ingester_live_spans')) === 0
        && (await server.metric('vivace_ingester_blocks_flushed_total')) > 0, { timeoutMs: 20000, what: 'a flush' });
    await checkAll('blocks');
  });

  it('vivace query gives the same answer from the server and from the data directory', async () => {
    const q = '{ span.db.system = "redis" }';
    const args = ['query', q, '--limit', '100', '-o', 'json'];
    const viaServer = JSON.parse((await run(VIVACE_BIN, [...args, '--server', server.httpUrl])).stdout);
    const offline = JSON.parse((await run(VIVACE_BIN, [...args, '--data-dir', server.dataDir])).stdout);
    assert.deepEqual(ids(viaServer), expect((i) => i % 3 === 0));
    assert.deepEqual(ids(offline), ids(viaServer));
    assert.deepEqual(offline.traces, viaServer.traces);
    const table = (await run(VIVACE_BIN, ['query', q, '--limit', '3', '--server', server.httpUrl])).stdout;
    assert.match(table, /^TRACE ID\s+START \(UTC\)/);
    assert.match(table, /\n3 traces \(inspected \d+ traces/);
    for (const id of expect((i) => i % 3 === 0, 3)) assert.ok(table.includes(id), `table lacks ${id}:\n${table}`);
    // An invalid query is a usage error with Tempo's message.
    await assert.rejects(run(VIVACE_BIN, ['query', '{ status = }', '--server', server.httpUrl]),
      (e) => e.code === 2 && /parse error/.test(e.stderr));
  });
});
