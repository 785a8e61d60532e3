'use strict';
// Bad input on the OTLP receivers: every malformed, oversized or unsupported
// request gets the Collector's status code, and none of them disturbs the
// server: a trace stored before is still there and good requests still work.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const zlib = require('node:zlib');
const grpc = require('@grpc/grpc-js');

const { VivaceServer } = require('./lib/server');
const m = require('./lib/model');

const LIMIT = 1 << 20; // max_request_body_size below
const CONFIG = `
distributor:
  receivers:
    otlp:
      protocols:
        http:
          endpoint: 127.0.0.1:\${OTLP_HTTP}
          max_request_body_size: 1MiB
        grpc:
          endpoint: 127.0.0.1:\${OTLP_GRPC}
`;
const EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const server = new VivaceServer({ config: CONFIG });

function span(fields = {}) {
  const now = BigInt(Date.now()) * 1000000n;
  return m.canonicalSpan({
    traceId: crypto.randomBytes(16).toString('hex'),
    spanId: crypto.randomBytes(8).toString('hex'),
    name: 'bad-input-test', kind: 2,
    startTimeUnixNano: `${now}`, endTimeUnixNano: `${now + 12345n}`,
    attributes: [['k', { stringValue: 'v' }]],
    resource: { attributes: [['service.name', { stringValue: 'bad-input' }]], droppedAttributesCount: 0, schemaUrl: '' },
    ...fields,
  });
}

/** POST with node:http so that Content-Length vs chunked is under control. Never rejects. */
function rawPost(body, headers, { chunked = false, method = 'POST' } = {}) {
  return new Promise((resolve) => {
    const h = { ...headers };
    if (!chunked && body !== undefined) h['Content-Length'] = body.length;
    const req = http.request({
      host: '127.0.0.1', port: server.ports.otlpHttp, path: '/v1/traces', method, headers: h, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ error }));
    });
    req.on('error', (error) => resolve({ error }));
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    if (body === undefined) {
      req.end();
    } else if (chunked) {
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

function describeResult(r) {
  return r.error ? `error ${r.error.code || ''} ${r.error.message}` : `${r.status} ${r.body.toString().slice(0, 200)}`;
}

/** Asserts an OTLP error answer: status, and a google.rpc.Status body in the request's format. */
function assertOtlpError(r, status, format, what) {
  assert.ok(!r.error, `${what}: request failed at the transport level: ${describeResult(r)}`);
  assert.equal(r.status, status, `${what}: ${describeResult(r)}`);
  if (format === 'json') {
    assert.match(r.headers['content-type'] || '', /^application\/json/, `${what}: content-type`);
    const s = JSON.parse(r.body);
    assert.equal(typeof s.message, 'string', `${what}: Status.message`);
    assert.ok(s.message.length > 0, `${what}: empty Status.message`);
    assert.equal(s.code, status === 413 ? 8 : 3, `${what}: Status.code`);
  } else if (format === 'proto') {
    assert.match(r.headers['content-type'] || '', /^application\/x-protobuf/, `${what}: content-type`);
    // google.rpc.Status{code=1 int32, message=2 string}: first field must be code.
    assert.equal(r.body[0], 0x08, `${what}: body is not a google.rpc.Status`);
    assert.equal(r.body[1], status === 413 ? 8 : 3, `${what}: Status.code`);
  }
}

/** Builds a valid OTLP/protobuf request of exactly `size` bytes by padding an attribute. */
function protoOfExactSize(size) {
  let pad = size - 200;
  for (let i = 0; i < 20; i++) {
    const s = span({ attributes: [['pad', { stringValue: 'p'.repeat(pad) }]] });
    const body = m.toOtlpProto([s]);
    if (body.length === size) return { body, span: s };
    pad += size - body.length;
  }
  throw new Error(`could not build a request of exactly ${size} bytes`);
}

async function assertStored(s, what) {
  const r = await server.get(`/api/traces/${s.traceId}`);
  assert.equal(r.status, 200, `${what}: GET trace ${s.traceId}: ${r.status} ${r.body}`);
  m.assertSameSpans(m.fromTempoJson(JSON.parse(r.body), 'batches', what), [s], what);
}

async function assertNotStored(s, what) {
  const r = await server.get(`/api/traces/${s.traceId}`);
  assert.equal(r.status, 404, `${what}: trace ${s.traceId} should not have been stored, got ${r.status}`);
}

function grpcClient(address) {
  return new grpc.Client(address, grpc.credentials.createInsecure());
}

function grpcExport(client, message) {
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT_METHOD, (b) => b, (b) => b, message, { deadline: Date.now() + 10000 },
      (err, resp) => resolve({ err, resp }));
  });
}

const stored = span({ name: 'stored-before-bad-input' });
const ACCEPTED = 'otelcol_receiver_accepted_spans_total';
let acceptedHttpBefore;
let acceptedHttp = 0; // spans accepted over OTLP/HTTP after acceptedHttpBefore was read

before(async () => {
  await server.start();
  const r = await rawPost(m.toOtlpProto([stored]), { 'Content-Type': 'application/x-protobuf' });
  assert.equal(r.status, 200, `storing the reference trace: ${describeResult(r)}`);
  await assertStored(stored, 'reference trace');
  acceptedHttpBefore = await server.metric(ACCEPTED, { receiver: 'otlp', transport: 'http' });
});

after(async () => {
  await server.cleanup();
});

describe('OTLP/HTTP malformed bodies -> 400', () => {
  it('truncated protobuf', async () => {
    const s = span();
    const full = m.toOtlpProto([s]);
    for (const cut of [1, 5, Math.floor(full.length / 2)]) {
      const r = await rawPost(full.subarray(0, full.length - cut), { 'Content-Type': 'application/x-protobuf' });
      assertOtlpError(r, 400, 'proto', `truncated by ${cut} bytes`);
    }
    await assertNotStored(s, 'truncated protobuf');
  });

  it('garbage bytes as protobuf', async () => {
    const garbage = [
      Buffer.from('this is definitely not a protobuf message'),  // 't' = field 14, wire type 4 (end group)
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]),   // length far beyond the body
      Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // 11-byte varint
      Buffer.from([0x0f, 0x00]),                                  // wire type 7 does not exist
    ];
    for (const g of garbage) {
      const r = await rawPost(g, { 'Content-Type': 'application/x-protobuf' });
      assertOtlpError(r, 400, 'proto', `garbage ${g.toString('hex')}`);
    }
  });

  it('invalid JSON', async () => {
    for (const body of ['{"resourceSpans": [', 'not json at all', '{"resourceSpans": [{"scopeSpans": [{"spans": [{]}]}]}', '\u0000\u0001']) {
      const r = await rawPost(Buffer.from(body), { 'Content-Type': 'application/json' });
      assertOtlpError(r, 400, 'json', `invalid JSON ${JSON.stringify(body)}`);
    }
  });

  it('JSON with a wrong-length or non-hex id', async () => {
    const cases = {
      'traceId too short (30 hex digits)': (o) => { o.traceId = o.traceId.slice(0, 30); },
      'traceId too long (34 hex digits)': (o) => { o.traceId += 'ab'; },
      'spanId too short (14 hex digits)': (o) => { o.spanId = o.spanId.slice(0, 14); },
      'parentSpanId too long (18 hex digits)': (o) => { o.parentSpanId = `${o.spanId}00`; },
      'non-hex traceId': (o) => { o.traceId = `zz${o.traceId.slice(2)}`; },
      'non-hex spanId': (o) => { o.spanId = `${o.spanId.slice(0, 15)}g`; },
      'non-hex link traceId': (o) => { o.links = [{ traceId: 'x'.repeat(32), spanId: o.spanId }]; },
    };
    for (const [name, mutate] of Object.entries(cases)) {
      const s = span();
      const obj = m.toOtlpObject([s], 'hex');
      mutate(obj.resourceSpans[0].scopeSpans[0].spans[0]);
      const r = await rawPost(Buffer.from(JSON.stringify(obj)), { 'Content-Type': 'application/json' });
      assertOtlpError(r, 400, 'json', name);
      await assertNotStored(s, name);
    }
  });

  it('Content-Encoding does not match the body', async () => {
    const body = m.toOtlpProto([span()]);
    for (const enc of ['gzip', 'deflate']) {
      const r = await rawPost(body, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': enc });
      assertOtlpError(r, 400, 'proto', `${enc} header on an uncompressed body`);
    }
  });

  it('unknown Content-Encoding', async () => {
    const s = span();
    for (const enc of ['x-unknown', 'compress']) {
      const r = await rawPost(m.toOtlpProto([s]), { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': enc });
      assertOtlpError(r, 400, 'proto', `Content-Encoding: ${enc}`);
    }
    await assertNotStored(s, 'unknown Content-Encoding');
  });
});

describe('OTLP/HTTP size limit (max_request_body_size: 1MiB)', () => {
  it('a body of exactly the limit is accepted', async () => {
    const { body, span: s } = protoOfExactSize(LIMIT);
    assert.equal(body.length, LIMIT);
    const r = await rawPost(body, { 'Content-Type': 'application/x-protobuf' });
    assert.equal(r.status, 200, describeResult(r));
    acceptedHttp++;
    await assertStored(s, 'body of exactly the limit');
  });

  it('a body one byte over the limit gets 413 (Content-Length and chunked)', async () => {
    const { body, span: s } = protoOfExactSize(LIMIT + 1);
    const r1 = await rawPost(body, { 'Content-Type': 'application/x-protobuf' });
    assert.ok(!r1.error, `Content-Length: ${describeResult(r1)}`);
    assert.equal(r1.status, 413, `Content-Length: ${describeResult(r1)}`);
    const r2 = await rawPost(body, { 'Content-Type': 'application/x-protobuf' }, { chunked: true });
    assert.ok(!r2.error, `chunked: ${describeResult(r2)}`);
    assert.equal(r2.status, 413, `chunked: ${describeResult(r2)}`);
    await assertNotStored(s, 'over-limit body');
  });

  it('a large over-limit body (8 MiB, Content-Length) gets a readable 413, not a connection reset', async () => {
    // A server that answers 413 from the headers and closes at once, with the body still
    // unread, makes the kernel send RST, and the client often loses the 413 (EPIPE or
    // ECONNRESET). An exporter then sees a retryable network error instead of a permanent
    // 413. The Collector (Go net/http) closes gracefully, so the 413 always arrives.
    const body = Buffer.alloc(8 * LIMIT, 1);
    const outcomes = [];
    for (let i = 0; i < 5; i++) {
      const r = await rawPost(body, { 'Content-Type': 'application/x-protobuf' });
      outcomes.push(r.error ? `error ${r.error.code}` : `${r.status}`);
    }
    assert.deepEqual(outcomes, ['413', '413', '413', '413', '413']);
  });

  it('a gzip or deflate bomb (small body, inflates past the limit) gets 413', async () => {
    const s = span({ attributes: [['pad', { stringValue: 'a'.repeat(4 * LIMIT) }]] });
    const plain = m.toOtlpProto([s]);
    for (const [enc, fn] of [['gzip', zlib.gzipSync], ['deflate', zlib.deflateSync]]) {
      const bomb = fn(plain, { level: 9 });
      assert.ok(bomb.length < 64 * 1024, `${enc} bomb is ${bomb.length} bytes`);
      const r = await rawPost(bomb, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': enc });
      assertOtlpError(r, 413, 'proto', `${enc} bomb`);
    }
    // Zeros inflating to 64 MiB: must be cut off, not inflated in full.
    const zeros = zlib.gzipSync(Buffer.alloc(64 * LIMIT), { level: 9 });
    const r = await rawPost(zeros, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    assertOtlpError(r, 413, 'json', 'gzip of 64 MiB zeros');
    await assertNotStored(s, 'bomb');
  });

  it('a compressed body under the limit is accepted', async () => {
    for (const [enc, fn] of [['gzip', zlib.gzipSync], ['deflate', zlib.deflateSync]]) {
      const t = span({ name: `compressed-${enc}` });
      const r = await rawPost(fn(m.toOtlpJson([t])), { 'Content-Type': 'application/json', 'Content-Encoding': enc });
      assert.equal(r.status, 200, `${enc}: ${describeResult(r)}`);
      acceptedHttp++;
      await assertStored(t, enc);
    }
  });
});

describe('OTLP/HTTP protocol errors', () => {
  it('unsupported Content-Type gets 415', async () => {
    const body = m.toOtlpProto([span()]);
    for (const ct of ['text/plain', 'application/xml', 'application/protobuf-but-not', undefined]) {
      const r = await rawPost(body, ct ? { 'Content-Type': ct } : {});
      assert.ok(!r.error, describeResult(r));
      assert.equal(r.status, 415, `Content-Type ${ct}: ${describeResult(r)}`);
    }
  });

  it('GET (and other methods) on /v1/traces get 405 with Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await rawPost(method === 'GET' ? undefined : Buffer.from('{}'),
        { 'Content-Type': 'application/json' }, { method });
      assert.ok(!r.error, describeResult(r));
      assert.equal(r.status, 405, `${method}: ${describeResult(r)}`);
      assert.equal(r.headers.allow, 'POST', `${method}: Allow header`);
    }
  });
});

describe('OTLP/gRPC malformed messages', () => {
  it('garbage message -> INVALID_ARGUMENT on the OTLP gRPC port and the gRPC API port', async () => {
    for (const address of [server.otlpGrpcAddress, server.grpcAddress]) {
      const client = grpcClient(address);
      try {
        for (const g of [Buffer.from('this is definitely not a protobuf message'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]) {
          const { err } = await grpcExport(client, g);
          assert.ok(err, `${address}: garbage ${g.toString('hex')} was accepted`);
          assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${address}: ${err.code} ${err.details}`);
        }
        // A valid message on the same channel still works.
        const s = span({ name: `grpc-after-garbage-${address}` });
        const ok = await grpcExport(client, m.toOtlpProto([s]));
        assert.ifError(ok.err);
        await assertStored(s, `gRPC ${address}`);
      } finally {
        client.close();
      }
    }
  });

  it('a message over the gRPC receive limit (4 MiB by default) -> RESOURCE_EXHAUSTED', async () => {
    const client = grpcClient(server.otlpGrpcAddress);
    try {
      const s = span({ attributes: [['pad', { stringValue: 'p'.repeat(5 * LIMIT) }]] });
      const { err } = await grpcExport(client, m.toOtlpProto([s]));
      assert.ok(err, '5 MiB message was accepted');
      assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED, `${err.code} ${err.details}`);
      await assertNotStored(s, 'over-size gRPC message');
    } finally {
      client.close();
    }
  });

  it('a truncated message -> INVALID_ARGUMENT', async () => {
    const client = grpcClient(server.otlpGrpcAddress);
    try {
      const full = m.toOtlpProto([span()]);
      const { err } = await grpcExport(client, full.subarray(0, full.length - 3));
      assert.ok(err, 'truncated message was accepted');
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${err.code} ${err.details}`);
    } finally {
      client.close();
    }
  });
});

describe('after the bad input', () => {
  it('the server is still ready and the trace stored before is intact', async () => {
    assert.ok(server.pid, 'the server process is gone');
    assert.equal((await server.get('/ready')).status, 200);
    await assertStored(stored, 'reference trace after bad input');
  });

  it('a good OTLP/HTTP request is accepted and readable, in both encodings', async () => {
    const a = span({ name: 'good-json' });
    const b = span({ name: 'good-proto' });
    const ra = await rawPost(Buffer.from(m.toOtlpJson([a])), { 'Content-Type': 'application/json' });
    assert.equal(ra.status, 200, describeResult(ra));
    assert.match(ra.headers['content-type'], /^application\/json/);
    const rb = await rawPost(m.toOtlpProto([b]), { 'Content-Type': 'application/x-protobuf' }, { chunked: true });
    assert.equal(rb.status, 200, describeResult(rb));
    assert.match(rb.headers['content-type'], /^application\/x-protobuf/);
    acceptedHttp += 2;
    await assertStored(a, 'good JSON');
    await assertStored(b, 'good protobuf');
  });

  it('rejected requests were not counted as accepted spans', async () => {
    const now = await server.metric(ACCEPTED, { receiver: 'otlp', transport: 'http' });
    assert.ok(acceptedHttp > 0);
    assert.equal(now - acceptedHttpBefore, acceptedHttp);
  });
});
