'use strict';
// Round trip through vivace with the real OpenTelemetry JS exporters:
// SDK -> (OTLP/gRPC | OTLP/HTTP protobuf | OTLP/HTTP JSON) -> vivace ->
// GET /api/traces/<id> and /api/v2/traces/<id>, as JSON and as protobuf,
// compared field by field with the spans the SDK handed to the exporter.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { VivaceServer } = require('./lib/server');
const { emitTrace, reexport } = require('./lib/otel');
const m = require('./lib/model');

const KINDS = ['otlp-grpc', 'otlp-proto', 'otlp-http', 'otlp-grpc+gzip', 'otlp-proto+gzip', 'otlp-http+gzip'];
// Each trace is sent a second time through a different transport.
const RESEND_VIA = {
  'otlp-grpc': 'otlp-http', 'otlp-proto': 'otlp-grpc', 'otlp-http': 'otlp-proto',
  'otlp-grpc+gzip': 'otlp-proto+gzip', 'otlp-proto+gzip': 'otlp-http+gzip', 'otlp-http+gzip': 'otlp-grpc+gzip',
};
const TRANSPORT = (kind) => (kind.startsWith('otlp-grpc') ? 'grpc' : 'http');

const server = new VivaceServer();
const emitted = {};                     // kind -> { traceId, spans, results, expected }
const sentSpans = { grpc: 0, http: 0 }; // spans acknowledged per transport, for /metrics

/** Fetches a trace in all four representations and returns their canonical spans. */
async function fetchAll(traceId, headers = {}) {
  const out = {};
  const v1 = await server.get(`/api/traces/${traceId}`, headers);
  assert.equal(v1.status, 200, `GET /api/traces/${traceId}: ${v1.status} ${v1.body}`);
  assert.match(v1.headers.get('content-type') || '', /^application\/json/);
  out['v1 json'] = m.fromTempoJson(JSON.parse(v1.body), 'batches', 'v1 json');

  const v2 = await server.get(`/api/v2/traces/${traceId}`, headers);
  assert.equal(v2.status, 200, `GET /api/v2/traces/${traceId}: ${v2.status} ${v2.body}`);
  assert.match(v2.headers.get('content-type') || '', /^application\/json/);
  const v2body = JSON.parse(v2.body);
  assert.ok(v2body.trace && typeof v2body.trace === 'object', 'v2 json: missing "trace"');
  assert.ok(v2body.metrics && typeof v2body.metrics === 'object', 'v2 json: missing "metrics"');
  out['v2 json'] = m.fromTempoJson(v2body.trace, 'resourceSpans', 'v2 json');

  const pb = { ...headers, Accept: 'application/protobuf' };
  const p1 = await server.get(`/api/traces/${traceId}`, pb);
  assert.equal(p1.status, 200, `GET /api/traces/${traceId} (protobuf): ${p1.status} ${p1.body}`);
  assert.equal(p1.headers.get('content-type'), 'application/protobuf');
  out['v1 protobuf'] = m.fromProtoTrace(m.proto().Trace.decode(p1.body), 'v1 protobuf');

  const p2 = await server.get(`/api/v2/traces/${traceId}`, pb);
  assert.equal(p2.status, 200, `GET /api/v2/traces/${traceId} (protobuf): ${p2.status} ${p2.body}`);
  assert.equal(p2.headers.get('content-type'), 'application/protobuf');
  const resp = m.proto().TraceByIDResponse.decode(p2.body);
  assert.ok(resp.trace, 'v2 protobuf: TraceByIDResponse.trace (field 1) missing');
  out['v2 protobuf'] = m.fromProtoTrace(resp.trace, 'v2 protobuf');
  return out;
}

function assertAllRepresentations(all, expected, where) {
  assert.deepEqual(Object.keys(all).sort(), ['v1 json', 'v1 protobuf', 'v2 json', 'v2 protobuf']);
  for (const [name, spans] of Object.entries(all)) m.assertSameSpans(spans, expected, `${where}, ${name}`);
}

before(async () => {
  await server.start();
});

after(async () => {
  await server.cleanup();
});

for (const kind of KINDS) {
  describe(`${kind} exporter`, () => {
    before(async () => {
      const e = await emitTrace(kind, server);
      emitted[kind] = { ...e, expected: m.fromSdk(e.spans) };
    });

    it('exported root -> child -> grandchild successfully', () => {
      const e = emitted[kind];
      assert.equal(e.spans.length, 3, 'the SDK should have exported 3 spans');
      assert.ok(e.results.length >= 1, 'exporter never reported a result');
      for (const r of e.results) assert.equal(r.code, 0, `export failed: ${r.error && r.error.stack}`);
      sentSpans[TRANSPORT(kind)] += e.spans.length;
      // Sanity checks on what the SDK produced, so the comparison below covers what we intend.
      const byName = Object.fromEntries(e.expected.map((s) => [s.name, s]));
      const root = byName['GET /checkout'];
      const child = byName['call payment-service'];
      const grandchild = byName['db.query'];
      assert.equal(root.parentSpanId, '');
      assert.equal(child.parentSpanId, root.spanId);
      assert.equal(grandchild.parentSpanId, child.spanId);
      assert.deepEqual([root.kind, child.kind, grandchild.kind], [2, 3, 1]);
      assert.deepEqual(child.status, { code: 2, message: 'payment declined: card expired' });
      assert.equal(root.links.length, 1);
      assert.equal(root.links[0].traceId, e.link.context.traceId);
      assert.equal(root.startTimeUnixNano.slice(-9), '123456789');
      assert.equal(grandchild.endTimeUnixNano.slice(-9), '899999999');
    });

    it('GET /api/traces/<id> and /api/v2/traces/<id>, JSON and protobuf, return exactly what was exported', async () => {
      const e = emitted[kind];
      assertAllRepresentations(await fetchAll(e.traceId), e.expected, kind);
    });

    it('trace id lookup is case-insensitive', async () => {
      const e = emitted[kind];
      const r = await server.get(`/api/traces/${e.traceId.toUpperCase()}`);
      assert.equal(r.status, 200);
      m.assertSameSpans(m.fromTempoJson(JSON.parse(r.body), 'batches', 'v1 json (upper-case id)'), e.expected, kind);
    });
  });
}

describe('duplicates', () => {
  it('spans sent twice (through another transport) come back once, unchanged', async () => {
    for (const kind of KINDS) {
      const e = emitted[kind];
      assert.ok(e, `${kind} trace was not emitted`);
      const via = RESEND_VIA[kind];
      const res = await reexport(via, server, e.spans);
      assert.equal(res.code, 0, `re-export of the ${kind} trace via ${via} failed: ${res.error && res.error.stack}`);
      sentSpans[TRANSPORT(via)] += e.spans.length;
    }
    for (const kind of KINDS) {
      const e = emitted[kind];
      assertAllRepresentations(await fetchAll(e.traceId), e.expected, `${kind} after re-send via ${RESEND_VIA[kind]}`);
    }
  });

  it('the same OTLP/JSON request posted twice yields each span once', async () => {
    const traceId = crypto.randomBytes(16).toString('hex');
    const spans = ['a', 'b'].map((n, i) => m.canonicalSpan({
      traceId, spanId: crypto.randomBytes(8).toString('hex'), name: `dup-${n}`, kind: 1,
      startTimeUnixNano: `${BigInt(Date.now()) * 1000000n + BigInt(i)}`, endTimeUnixNano: `${BigInt(Date.now()) * 1000000n + 1000n}`,
      resource: { attributes: [['service.name', { stringValue: 'dup-test' }]], droppedAttributesCount: 0, schemaUrl: '' },
    }));
    for (let i = 0; i < 2; i++) {
      const r = await server.postOtlp(m.toOtlpJson(spans), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 200, `post #${i + 1}: ${r.status} ${r.body}`);
      sentSpans.http += spans.length;
    }
    assertAllRepresentations(await fetchAll(traceId), spans, 'posted twice');
  });
});

describe('hand-built requests', () => {
  // Values the JS SDK cannot produce: bytes, kvlist, nested arrays, full int64 range,
  // non-default flags, dropped counts, scope attributes, and a trace id with leading zeros.
  const traceId = `00000000${crypto.randomBytes(12).toString('hex')}`;
  const rootId = crypto.randomBytes(8).toString('hex');
  const now = BigInt(Date.now()) * 1000000n;
  const resource = {
    attributes: [['service.name', { stringValue: 'hand-built' }], ['host.id', { bytesValue: 'deadbeef' }]],
    droppedAttributesCount: 3,
    schemaUrl: 'https://example.com/resource-schema',
  };
  const scope = {
    name: 'hand', version: 'v0', attributes: [['scope.attr', { intValue: '-1' }]], droppedAttributesCount: 1, schemaUrl: '',
  };
  const spans = [
    m.canonicalSpan({
      traceId, spanId: rootId, name: 'producer', kind: 4, traceState: 'a=b',
      startTimeUnixNano: `${now}`, endTimeUnixNano: `${now + 1000000001n}`,
      attributes: [
        ['int64.max', { intValue: '9223372036854775807' }],
        ['int64.min', { intValue: '-9223372036854775808' }],
        ['bytes', { bytesValue: '00ff10e2' }],
        ['bytes.empty', { bytesValue: '' }],
        ['kvlist', { kvlistValue: [['inner.s', { stringValue: 'x' }], ['inner.arr', { arrayValue: [{ intValue: '1' }, { stringValue: 'two' }, { arrayValue: [{ boolValue: false }] }] }]] }],
        ['mixed.array', { arrayValue: [{ stringValue: 's' }, { intValue: '5' }, { doubleValue: 0.25 }, { boolValue: true }, { bytesValue: '01' }] }],
        ['unicode', { stringValue: '日本語 ✓ \u0000 \u001f' }],
      ],
      droppedAttributesCount: 5,
      events: [{ timeUnixNano: `${now + 7n}`, name: 'e', attributes: [['kv', { kvlistValue: [] }]], droppedAttributesCount: 2 }],
      droppedEventsCount: 4,
      links: [{ traceId: crypto.randomBytes(16).toString('hex'), spanId: crypto.randomBytes(8).toString('hex'), traceState: 'x=y', attributes: [], droppedAttributesCount: 6, flags: 0x101 }],
      droppedLinksCount: 7,
      status: { code: 1, message: '' },
      flags: 0x301,
      resource,
      scope,
    }),
    m.canonicalSpan({
      traceId, spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: rootId, name: 'consumer', kind: 5,
      startTimeUnixNano: `${now + 5n}`, endTimeUnixNano: `${now + 6n}`,
      status: { code: 2, message: 'consumer failed' },
      resource,
      scope,
    }),
  ];

  it('OTLP/protobuf root span and OTLP/JSON child span round-trip exactly', async () => {
    const r1 = await server.postOtlp(m.toOtlpProto([spans[0]]), { 'Content-Type': 'application/x-protobuf' });
    assert.equal(r1.status, 200, `protobuf post: ${r1.status} ${r1.body}`);
    const r2 = await server.postOtlp(m.toOtlpJson([spans[1]]), { 'Content-Type': 'application/json' });
    assert.equal(r2.status, 200, `JSON post: ${r2.status} ${r2.body}`);
    sentSpans.http += 2;
    assertAllRepresentations(await fetchAll(traceId), spans, 'hand-built');
  });

  it('a trace id with leading zeros is found by its short form', async () => {
    const short = traceId.replace(/^0+/, '');
    assert.ok(short.length < 32);
    const r = await server.get(`/api/traces/${short}`);
    assert.equal(r.status, 200, `GET /api/traces/${short}: ${r.status} ${r.body}`);
    m.assertSameSpans(m.fromTempoJson(JSON.parse(r.body), 'batches', 'short id'), spans, 'short id');
  });
});

describe('tenants', () => {
  it('a trace written with X-Scope-OrgID is only visible to that tenant', async () => {
    const traceId = crypto.randomBytes(16).toString('hex');
    const span = m.canonicalSpan({
      traceId, spanId: crypto.randomBytes(8).toString('hex'), name: 'tenant-span', kind: 1,
      startTimeUnixNano: `${BigInt(Date.now()) * 1000000n}`, endTimeUnixNano: `${BigInt(Date.now()) * 1000000n + 10n}`,
    });
    const r = await server.postOtlp(m.toOtlpJson([span]), { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'tenant-a' });
    assert.equal(r.status, 200, `${r.status} ${r.body}`);
    sentSpans.http += 1;
    assertAllRepresentations(await fetchAll(traceId, { 'X-Scope-OrgID': 'tenant-a' }), [span], 'tenant-a');
    assert.equal((await server.get(`/api/traces/${traceId}`)).status, 404, 'visible to the default tenant');
    assert.equal((await server.get(`/api/traces/${traceId}`, { 'X-Scope-OrgID': 'tenant-b' })).status, 404, 'visible to tenant-b');
  });
});

describe('trace by id errors', () => {
  it('unknown trace ids give 404 (v1 and v2, JSON and protobuf)', async () => {
    const id = crypto.randomBytes(16).toString('hex');
    for (const p of [`/api/traces/${id}`, `/api/v2/traces/${id}`]) {
      assert.equal((await server.get(p)).status, 404, p);
      assert.equal((await server.get(p, { Accept: 'application/protobuf' })).status, 404, `${p} (protobuf)`);
    }
  });

  it('malformed trace ids give 400', async () => {
    const bad = ['xyz', 'not-a-trace-id', '0123456789abcdef0123456789abcdefa' /* 33 digits */, '12345678z', '%20'];
    for (const id of bad) {
      for (const p of [`/api/traces/${id}`, `/api/v2/traces/${id}`]) {
        const r = await server.get(p);
        assert.equal(r.status, 400, `${p}: got ${r.status} ${r.body}`);
      }
    }
  });
});

describe('metrics', () => {
  it('otelcol_receiver_accepted_spans_total counts the spans accepted per transport', async () => {
    const name = 'otelcol_receiver_accepted_spans_total';
    assert.ok(sentSpans.grpc > 0 && sentSpans.http > 0);
    assert.equal(await server.metric(name, { receiver: 'otlp', transport: 'grpc' }), sentSpans.grpc, 'grpc');
    assert.equal(await server.metric(name, { receiver: 'otlp', transport: 'http' }), sentSpans.http, 'http');
  });
});
