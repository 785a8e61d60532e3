'use strict';
// Durability: every span vivace acknowledged (HTTP 200) must survive kill -9.
// Concurrent OTLP/HTTP writers (JSON, protobuf, gzip'd JSON) run for ~2 s; the
// server is SIGKILLed in the middle and restarted on the same data directory
// while the writers keep going. Every acknowledged trace must then come back
// with exactly its acknowledged spans, after the first crash, after a second
// crash, after a clean SIGTERM shutdown and restart, and from blocks after POST /flush.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const zlib = require('node:zlib');

const { VivaceServer, sleep } = require('./lib/server');
const m = require('./lib/model');

const WRITERS = 8;
const LOOP_MS = 2000;          // total duration of the load loop
const KILL_AT_MS = 900;        // when the first kill -9 happens
const MAX_REQUESTS = 6000;     // hard bound on the number of requests
const REQUEST_TIMEOUT_MS = 5000;

const server = new VivaceServer();
const acked = new Map();       // traceId -> canonical spans that were acknowledged
const stats = { sent: 0, ok: 0, failed: 0, non200: [], okBeforeKill: 0, okAfterRestart: 0 };

function makeRequest(seq) {
  const now = BigInt(Date.now()) * 1000000n;
  const resource = { attributes: [['service.name', { stringValue: 'crash-writer' }], ['seq', { intValue: String(seq) }]], droppedAttributesCount: 0, schemaUrl: '' };
  const scope = { name: 'crash', version: '1', attributes: [], droppedAttributesCount: 0, schemaUrl: '' };
  const spans = [];
  for (let t = 0; t < 2; t++) {
    const traceId = crypto.randomBytes(16).toString('hex');
    const rootId = crypto.randomBytes(8).toString('hex');
    spans.push(m.canonicalSpan({
      traceId, spanId: rootId, name: `root-${seq}-${t}`, kind: 2,
      startTimeUnixNano: `${now}`, endTimeUnixNano: `${now + 1000n + BigInt(seq)}`,
      attributes: [['seq', { intValue: String(seq) }], ['payload', { stringValue: 'x'.repeat(64) }]],
      status: { code: 0, message: '' }, resource, scope,
    }));
    spans.push(m.canonicalSpan({
      traceId, spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: rootId, name: `child-${seq}-${t}`, kind: 3,
      startTimeUnixNano: `${now + 1n}`, endTimeUnixNano: `${now + 999n}`,
      attributes: [['ratio', { doubleValue: seq / 7 + 0.5 }]],
      status: { code: 2, message: `err ${seq}` }, resource, scope,
    }));
  }
  let body;
  let headers;
  switch (seq % 3) {
    case 0: body = m.toOtlpJson(spans); headers = { 'Content-Type': 'application/json' }; break;
    case 1: body = m.toOtlpProto(spans); headers = { 'Content-Type': 'application/x-protobuf' }; break;
    default: body = zlib.gzipSync(m.toOtlpJson(spans)); headers = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }; break;
  }
  return { spans, body, headers };
}

function recordAck(spans) {
  for (const s of spans) {
    if (!acked.has(s.traceId)) acked.set(s.traceId, []);
    acked.get(s.traceId).push(s);
  }
}

/** Runs the writers until `deadline` or MAX_REQUESTS; `phase()` says whether the server is up, down or restarted. */
async function loadLoop(deadline, phase) {
  let seq = 0;
  const url = server.otlpHttpUrl;
  async function writer() {
    while (Date.now() < deadline && seq < MAX_REQUESTS) {
      const { spans, body, headers } = makeRequest(seq++);
      const p = phase();
      stats.sent++;
      try {
        const r = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await r.arrayBuffer();
        if (r.status === 200) {
          recordAck(spans);
          stats.ok++;
          if (p === 'before-kill' && phase() === 'before-kill') stats.okBeforeKill++;
          if (p === 'restarted') stats.okAfterRestart++;
        } else {
          stats.failed++;
          if (stats.non200.length < 10) stats.non200.push(`${r.status}`);
        }
      } catch {
        stats.failed++;          // connection refused / reset while the server is down: not acknowledged
        await sleep(5);
      }
    }
  }
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

/** Checks that every acknowledged trace is there with exactly its acknowledged spans. */
async function verifyAll(where) {
  const ids = [...acked.keys()];
  assert.ok(ids.length > 0, 'no trace was acknowledged at all');
  let next = 0;
  const failures = [];
  async function reader() {
    while (next < ids.length) {
      const id = ids[next++];
      const r = await server.get(`/api/traces/${id}`);
      if (r.status !== 200) {
        failures.push(`${id}: HTTP ${r.status} ${r.body.toString().trim()}`);
        continue;
      }
      try {
        m.assertSameSpans(m.fromTempoJson(JSON.parse(r.body), 'batches', id), acked.get(id), `${where} ${id}`);
      } catch (e) {
        failures.push(e.message.split('\n').slice(0, 12).join('\n'));
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, reader));
  assert.equal(failures.length, 0,
    `${where}: ${failures.length} of ${ids.length} acknowledged traces missing or incomplete:\n${failures.slice(0, 5).join('\n')}`);
}

before(async () => {
  await server.start();
});

after(async () => {
  await server.cleanup();
});

describe('kill -9 during load', () => {
  it('loses no acknowledged span', async () => {
    let phase = 'before-kill';
    const start = Date.now();
    const loop = loadLoop(start + LOOP_MS, () => phase);
    await sleep(KILL_AT_MS);
    phase = 'killed';
    const exit = await server.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await server.restart();
    phase = 'restarted';
    await loop;
    const t = Date.now() - start;
    console.log(`load: ${JSON.stringify({ ...stats, traces: acked.size, ms: t })}`);
    assert.ok(stats.okBeforeKill > 0, 'nothing was acknowledged before the kill');
    assert.ok(stats.okAfterRestart > 0, 'nothing was acknowledged after the restart');
    assert.deepEqual(stats.non200, [], 'the server answered some requests with an error status');
    await verifyAll('after first kill -9 and restart');
  });

  it('a second kill -9 (now with an idle server) loses nothing either', async () => {
    const exit = await server.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await server.restart();
    await verifyAll('after second kill -9 and restart');
  });

  it('SIGTERM drains and exits 0; everything is still there after restart', async () => {
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    await server.restart();
    await verifyAll('after SIGTERM and restart');
    // And the restarted server still accepts writes.
    const { spans, body, headers } = makeRequest(MAX_REQUESTS + 1);
    const r = await server.postOtlp(body, headers);
    assert.equal(r.status, 200, `${r.status} ${r.body}`);
    recordAck(spans);
    await verifyAll('after a final write');
  });

  it('POST /flush moves every trace into blocks, which survive kill -9 and serve every trace', async () => {
    const r = await fetch(`${server.httpUrl}/flush`, { method: 'POST' });
    assert.equal(r.status, 204, await r.text());
    assert.ok(await server.metric('vivace_ingester_blocks_flushed_total') >= 1, 'no block was written');
    assert.equal(await server.metric('vivace_ingester_live_spans'), 0, 'spans are still live after the flush');
    await verifyAll('after POST /flush');
    const exit = await server.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    await server.restart();
    // The WAL behind the blocks is gone: nothing is replayed, every trace comes from a block.
    assert.equal(await server.metric('vivace_ingester_live_spans'), 0, 'flushed spans were replayed from the WAL');
    await verifyAll('after flush, kill -9 and restart');
  });
});
