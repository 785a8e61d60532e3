'use strict';
// Block storage end to end (issue #3): ingest over OTLP with the real OpenTelemetry JS SDK,
// let the background flusher cut the traces into blocks (no POST /flush), let the background
// compactor merge the blocks, then read every trace back by ID, before and after a kill -9
// and restart on the same data directory.
//
// Three waves of traces go out through three OTLP transports; after each wave the test waits
// until the flusher has written a block and nothing is live any more. One trace is split over
// all three waves (the later services continue it under a remote parent), so its spans live in
// three blocks until compaction merges them. All span times fall into one compaction window,
// so the blocks are eligible to be merged with each other.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const api = require('@opentelemetry/api');

const { VivaceServer, waitFor } = require('./lib/server');
const { emitSpans, randomHex } = require('./lib/otel');
const m = require('./lib/model');

const CONFIG = `
ingester:
  trace_idle_period: 1s
  max_block_duration: 2s
  flush_check_period: 500ms
compactor:
  compaction:
    compaction_cycle: 1s
    compaction_window: 1h
    compacted_block_retention: 1h
storage:
  blocklist_poll: 1s
`;
const TENANT_DIR = 'single-tenant';
const TRACES_PER_WAVE = 40;
const WAVES = [
  { kind: 'otlp-grpc', service: 'blocks-frontend' },
  { kind: 'otlp-proto+gzip', service: 'blocks-payments' },
  { kind: 'otlp-http', service: 'blocks-notifier' },
];
const FLUSH_TIMEOUT_MS = 15000;       // idle 1 s + block duration 2 s + check period 0.5 s, with slack
const COMPACTION_TIMEOUT_MS = 30000;

// Every span time lies a few minutes after BASE_S, the middle of the previous hour: all blocks
// end in the same 1 h compaction window whatever the wall clock says.
const BASE_S = Math.floor(Date.now() / 1000 / 3600) * 3600 - 1800;

const server = new VivaceServer({ config: CONFIG });
const expected = new Map();   // traceId -> canonical spans sent (and acknowledged)
let splitTraceId = null;
let splitRoot = null;         // span context of the split trace's root, continued by later waves

const metric = (name, labels) => server.metric(name, labels);

function recordSent(spans) {
  for (const s of m.fromSdk(spans)) {
    if (!expected.has(s.traceId)) expected.set(s.traceId, []);
    expected.get(s.traceId).push(s);
  }
}

const totalSpans = () => [...expected.values()].reduce((n, l) => n + l.length, 0);

/**
 * One ordinary trace: a SERVER root with 1–3 children of varying kinds, some with a
 * grandchild, attributes of every SDK type, events (with and without attributes), a link to
 * the previous trace of the wave, OK / ERROR / unset statuses. Returns the root and the number
 * of spans.
 */
function buildTrace(tracer, w, i, prev) {
  const t = (sec, ns) => [BASE_S + w * 60 + sec, ns];
  const root = tracer.startSpan(`GET /wave${w}/item/${i}`, {
    kind: api.SpanKind.SERVER,
    startTime: t(i, 1000 + i),
    attributes: {
      'http.request.method': i % 2 ? 'GET' : 'POST',
      'http.response.status_code': 200 + (i % 5),
      'wave': w,
      'item.index': i,
      'item.negative': -i - 1,
      'item.ratio': i / 7 + 0.125,
      'item.flag': i % 3 === 0,
      'item.text': `ünïcode ${i} "quoted" \\ ${'x'.repeat(i)}`,
      'item.tags': [`t${i}`, `wave${w}`, ''],
      'item.ints': [i, -i, 2 ** 40 + i],
      'item.doubles': [i + 0.5, -1.25, 1e-9],
      'item.bools': [true, i % 2 === 0],
    },
    links: prev ? [{ context: prev, attributes: { 'link.kind': 'previous', 'link.n': i } }] : [],
  }, api.ROOT_CONTEXT);
  root.addEvent('request.received', { bytes: 100 * i, ok: true, ratio: 0.5 + i, who: `client-${i}`, list: ['a', 'b'] }, t(i, 2000 + i));
  if (i % 5 !== 0) root.setStatus({ code: api.SpanStatusCode.OK });
  let count = 1;
  const kinds = [api.SpanKind.CLIENT, api.SpanKind.INTERNAL, api.SpanKind.PRODUCER];
  const rootCtx = api.trace.setSpan(api.ROOT_CONTEXT, root);
  for (let c = 0; c < 1 + (i % 3); c++) {
    const child = tracer.startSpan(`step ${c} of ${i}`, {
      kind: kinds[c],
      startTime: t(i, 10000000 * (c + 1) + 7),
      attributes: { 'db.system': 'postgresql', 'db.rows': c * i, 'db.cost': 0.25 * c + 0.1, 'db.cached': c % 2 === 0 },
    }, rootCtx);
    count++;
    if (c > 0) child.addEvent('retry', { attempt: c }, t(i, 10000000 * (c + 1) + 500));
    if (c === 1 && i % 4 === 0) child.setStatus({ code: api.SpanStatusCode.ERROR, message: `step ${c} failed for item ${i}` });
    if (c === 0 && i % 2 === 0) {
      const grandchild = tracer.startSpan('db.query', {
        startTime: t(i, 10000000 + 99),
        attributes: { 'db.statement': `SELECT * FROM items WHERE id = ${i}`, 'db.tables': ['items', 'orders'] },
      }, api.trace.setSpan(api.ROOT_CONTEXT, child));
      grandchild.addEvent('no-attributes', t(i, 10000000 + 100));
      grandchild.end(t(i, 10000000 + 5000003));
      count++;
    }
    child.end(t(i, 10000000 * (c + 1) + 9000001));
  }
  root.end(t(i, 900000000 + i));
  return { root: root.spanContext(), count };
}

/** The split trace's part in wave w: the root and a child in wave 0; later waves continue it. */
function buildSplitPart(tracer, w) {
  const t = (sec, ns) => [BASE_S + 200 + w * 3 + sec, ns];
  if (w === 0) {
    const root = tracer.startSpan('split: POST /order', {
      kind: api.SpanKind.SERVER, startTime: t(0, 1), attributes: { 'order.id': 'o-1', 'order.total': 99.95 },
    }, api.ROOT_CONTEXT);
    const child = tracer.startSpan('split: validate', { startTime: t(0, 5) }, api.trace.setSpan(api.ROOT_CONTEXT, root));
    child.addEvent('validated', { rules: 12 }, t(0, 6));
    child.end(t(0, 700));
    root.end(t(9, 1));
    splitRoot = root.spanContext();
    splitTraceId = splitRoot.traceId;
    return 2;
  }
  // Another service continues the trace from the propagated context of the root.
  const remote = api.trace.setSpanContext(api.ROOT_CONTEXT, {
    traceId: splitRoot.traceId, spanId: splitRoot.spanId, traceFlags: api.TraceFlags.SAMPLED, isRemote: true,
  });
  const span = tracer.startSpan(`split: wave ${w} handler`, {
    kind: api.SpanKind.CONSUMER, startTime: t(1, 11), attributes: { 'split.wave': w, 'split.last': w === WAVES.length - 1 },
  }, remote);
  span.addEvent('handled', { 'split.wave': w }, t(1, 12));
  const child = tracer.startSpan(`split: wave ${w} write`, {
    kind: api.SpanKind.CLIENT, startTime: t(1, 20), attributes: { 'db.rows': w },
  }, api.trace.setSpan(api.ROOT_CONTEXT, span));
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: `wave ${w} write failed` });
  child.end(t(1, 30));
  span.end(t(2, 40));
  return 2;
}

/** Reads every sent trace by ID (v1 JSON, or all four forms) and compares it with what was sent. */
async function verifyAll(where, { allForms = false } = {}) {
  const ids = [...expected.keys()];
  let next = 0;
  const failures = [];
  async function reader() {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        if (allForms) {
          const forms = await m.fetchAllForms(server, id);
          assert.deepEqual(Object.keys(forms).sort(), ['v1 json', 'v1 protobuf', 'v2 json', 'v2 protobuf']);
          for (const [form, spans] of Object.entries(forms)) m.assertSameSpans(spans, expected.get(id), `${where}, ${form}, ${id}`);
        } else {
          const r = await server.get(`/api/traces/${id}`);
          assert.equal(r.status, 200, `${id}: HTTP ${r.status} ${r.body.toString().trim()}`);
          m.assertSameSpans(m.fromTempoJson(JSON.parse(r.body), 'batches', id), expected.get(id), `${where} ${id}`);
        }
      } catch (e) {
        failures.push(e.message.split('\n').slice(0, 16).join('\n'));
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, reader));
  assert.equal(failures.length, 0,
    `${where}: ${failures.length} of ${ids.length} traces missing or different:\n${failures.slice(0, 3).join('\n')}`);
}

/**
 * The tenant's block directories sorted into the states of docs/formats/block_v1.md:
 * live, superseded, compacted, orphan. Each entry: { id, files, meta }.
 */
function listBlocks() {
  const dir = path.join(server.dataDir, 'blocks', TENANT_DIR);
  const readJson = (p) => {
    try { return JSON.parse(fs.readFileSync(p, 'utf8')); } catch (e) { if (e.code === 'ENOENT') return null; throw e; }
  };
  const all = [];
  for (const id of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const p = path.join(dir, id);
    if (!fs.statSync(p).isDirectory()) continue;
    const files = fs.readdirSync(p).sort();
    const meta = files.includes('meta.json') ? readJson(path.join(p, 'meta.json')) : null;
    const compacted = files.includes('meta.compacted.json') ? readJson(path.join(p, 'meta.compacted.json')) : null;
    all.push({ id, files, meta, compacted });
  }
  const named = new Set(all.filter((b) => b.meta && !b.compacted).flatMap((b) => b.meta.compactedFrom || []));
  const states = { live: [], superseded: [], compacted: [], orphan: [] };
  for (const b of all) {
    if (b.compacted) states.compacted.push({ ...b, meta: b.compacted });
    else if (!b.meta) states.orphan.push(b);
    else if (named.has(b.id)) states.superseded.push(b);
    else states.live.push(b);
  }
  return states;
}

const describeBlocks = (s) => JSON.stringify(Object.fromEntries(Object.entries(s).map(([k, l]) => [k, l.map((b) => ({
  id: b.id, level: b.meta && b.meta.compactionLevel, spans: b.meta && b.meta.totalSpans, from: b.meta && b.meta.compactedFrom,
}))])));

const tail = (text, lines = 40) => text.split('\n').slice(-lines).join('\n');

before(async () => {
  await server.start();
});

after(async () => {
  await server.cleanup();
});

describe('block storage: flush, compaction, restart', () => {
  WAVES.forEach(({ kind, service }, w) => {
    it(`wave ${w + 1} (${kind}) is cut into a block by the background flusher and reads back`, async () => {
      const flushedBefore = await metric('vivace_ingester_blocks_flushed_total');
      let want = 0;
      const e = await emitSpans(kind, server, {
        resource: { 'service.name': service, 'service.instance.id': randomHex(4), 'wave.number': w, 'wave.weight': w + 0.5, 'wave.canary': w === 1 },
        resourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        scope: { name: 'vivace-it-blocks', version: `1.${w}.0`, schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' },
        traceState: `vivace=blocks${w}`,
      }, (tracer) => {
        let prev = null;
        for (let i = 0; i < TRACES_PER_WAVE; i++) {
          const r = buildTrace(tracer, w, i, prev);
          prev = r.root;
          want += r.count;
        }
        want += buildSplitPart(tracer, w);
      });
      assert.ok(e.results.length >= 1, 'the exporter never reported a result');
      for (const r of e.results) assert.equal(r.code, 0, `export failed: ${r.error && r.error.stack}`);
      assert.equal(e.spans.length, want, 'the SDK did not export every span');
      recordSent(e.spans);

      // No POST /flush: the flusher cuts the idle traces on its own.
      await waitFor(async () => (await metric('vivace_ingester_live_spans')) === 0
          && (await metric('vivace_ingester_blocks_flushed_total')) > flushedBefore, {
        timeoutMs: FLUSH_TIMEOUT_MS,
        what: `the flusher to cut wave ${w + 1}`,
        describe: async () => `live_spans=${await metric('vivace_ingester_live_spans')} `
          + `blocks_flushed_total=${await metric('vivace_ingester_blocks_flushed_total')} (was ${flushedBefore})\n${tail(server.output)}`,
      });
      // Every trace so far, now from blocks (while the compactor may be merging them).
      await verifyAll(`after wave ${w + 1}`);
    });
  });

  it('the background compactor merges the blocks; the inputs are marked compacted', async () => {
    await waitFor(async () => (await metric('tempodb_compaction_blocks_total')) > 0, {
      timeoutMs: COMPACTION_TIMEOUT_MS,
      what: 'tempodb_compaction_blocks_total > 0',
      describe: () => `${describeBlocks(listBlocks())}\n${tail(server.output)}`,
    });
    // The counters move when the output is committed, just before the inputs are marked; and
    // more jobs may follow. Wait for a settled directory: inputs marked, live blocks disjoint.
    const sent = totalSpans();
    const states = await waitFor(() => {
      const s = listBlocks();
      const liveSpans = s.live.reduce((n, b) => n + b.meta.totalSpans, 0);
      return s.compacted.length > 0 && s.superseded.length === 0 && liveSpans === sent ? s : null;
    }, {
      timeoutMs: 10000,
      what: `a block with meta.compacted.json and live blocks holding the ${sent} spans once`,
      describe: () => describeBlocks(listBlocks()),
    });
    for (const b of states.compacted) {
      assert.ok(b.files.includes('meta.compacted.json'));
      assert.ok(!b.files.includes('meta.json'), `compacted block ${b.id} still has meta.json: ${b.files}`);
      assert.ok(b.files.includes('data') && b.files.includes('index'), `compacted block ${b.id} lost its objects before retention: ${b.files}`);
      assert.ok(Number(b.meta.compactedAt) > 0, `compacted block ${b.id}: no compactedAt`);
    }
    // Every marked block was the input of a block that exists.
    const outputs = [...states.live, ...states.compacted].filter((b) => (b.meta.compactedFrom || []).length > 0);
    assert.ok(outputs.some((b) => b.meta.compactionLevel >= 1), `no compaction output: ${describeBlocks(states)}`);
    const inputs = new Set(outputs.flatMap((b) => b.meta.compactedFrom));
    for (const b of states.compacted) assert.ok(inputs.has(b.id), `${b.id} is marked compacted but no block names it in compactedFrom`);
    assert.ok(states.live.length < WAVES.length, `compaction should leave fewer live blocks than waves: ${describeBlocks(states)}`);

    assert.ok(await metric('tempodb_compaction_blocks_total', { level: '1' }) >= 2, 'fewer than 2 blocks compacted into level 1');
    assert.ok(await metric('tempodb_compaction_objects_written_total') > 0, 'compaction wrote no traces');
    // Every wave's block holds a part of the split trace, so any merge of them combines it.
    assert.ok(await metric('tempodb_compaction_objects_combined_total') >= 1, 'the split trace was never combined');
    assert.equal(await metric('tempodb_compaction_errors_total'), 0, `compaction errors:\n${tail(server.output)}`);
  });

  it('every trace reads back by ID, v1 and v2, JSON and protobuf; the split trace whole, each span once', async () => {
    const split = expected.get(splitTraceId);
    assert.equal(split.length, 2 * WAVES.length, 'the split trace should have 2 spans per wave');
    assert.equal(new Set(split.map((s) => s.resource.attributes.find(([k]) => k === 'service.name')[1].stringValue)).size, WAVES.length);
    assert.equal(expected.size, WAVES.length * TRACES_PER_WAVE + 1, 'traces sent');
    await verifyAll('after compaction', { allForms: true });
  });

  it('after kill -9 and restart nothing is replayed from the WAL and every trace reads back from blocks', async () => {
    const exit = await server.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await server.restart();
    assert.equal(await metric('vivace_ingester_live_spans'), 0, 'spans were replayed from the WAL after the flush');
    await verifyAll('after kill -9 and restart', { allForms: true });
    // And the block directories still add up: every span once in the live blocks.
    const s = listBlocks();
    assert.equal(s.live.reduce((n, b) => n + b.meta.totalSpans, 0), totalSpans(), describeBlocks(s));
  });

  it('SIGTERM stops the server cleanly', async () => {
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });
});
