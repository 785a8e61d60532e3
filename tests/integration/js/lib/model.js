'use strict';
// Canonical span model used to compare what an OpenTelemetry SDK exported with
// what vivace returns (Tempo v1/v2 JSON in gogo-jsonpb form, or protobuf).
//
// Every converter produces the same shape:
//   { traceId, spanId, parentSpanId, traceState, name, kind, startTimeUnixNano,
//     endTimeUnixNano, attributes, droppedAttributesCount, events, droppedEventsCount,
//     links, droppedLinksCount, status: {code, message}, flags,
//     resource: {attributes, droppedAttributesCount, schemaUrl},
//     scope: {name, version, attributes, droppedAttributesCount, schemaUrl} }
// ids are lowercase hex, times are decimal strings of nanoseconds, kind and status
// code are the OTLP enum numbers, and attribute values carry their type:
//   {stringValue} {boolValue} {intValue: '<decimal>'} {doubleValue: number}
//   {bytesValue: '<hex>'} {arrayValue: [typed...]} {kvlistValue: [[key, typed]...]}
// Attribute lists are sorted by key (order carries no meaning); events and links keep order.

const assert = require('node:assert/strict');
const path = require('node:path');
const protobuf = require('protobufjs');

const KIND_NAMES = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

let protoRoot = null;
function proto() {
  // The repository's own .proto transcriptions (proto/), the same ones the C++ tests use.
  if (!protoRoot) {
    const protoDir = path.join(__dirname, '..', '..', '..', '..', 'proto');
    protoRoot = new protobuf.Root();
    protoRoot.resolvePath = (_origin, target) => path.join(protoDir, target);
    protoRoot.loadSync(['tempopb/tempo.proto', 'opentelemetry/proto/collector/trace/v1/trace_service.proto']);
  }
  return {
    Trace: protoRoot.lookupType('tempopb.Trace'),
    TraceByIDResponse: protoRoot.lookupType('tempopb.TraceByIDResponse'),
    ExportTraceServiceRequest: protoRoot.lookupType(
      'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  };
}

const hrToNanos = (hr) => (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();

function sortAttrs(list, where) {
  const keys = list.map(([k]) => k);
  assert.equal(new Set(keys).size, keys.length, `${where}: duplicate attribute keys ${JSON.stringify(keys)}`);
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------- SDK side

function sdkValue(v) {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: v.map(sdkValue) };
  throw new Error(`unsupported SDK attribute value ${JSON.stringify(v)}`);
}

function sdkAttrs(attrs, where) {
  return sortAttrs(Object.entries(attrs || {}).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => [k, sdkValue(v)]), where);
}

// OTLP span flags: low 8 bits W3C trace flags, 0x100 "has is_remote", 0x200 "is_remote".
const otlpFlags = (traceFlags, isRemote) => (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);

/** Canonical form of a list of SDK ReadableSpans (what the exporter was given). */
function fromSdk(spans) {
  return spans.map((s) => {
    const ctx = s.spanContext();
    const parent = s.parentSpanContext;
    return {
      traceId: ctx.traceId,
      spanId: ctx.spanId,
      parentSpanId: parent && parent.spanId ? parent.spanId : '',
      traceState: ctx.traceState ? ctx.traceState.serialize() : '',
      name: s.name,
      kind: s.kind + 1, // API SpanKind INTERNAL=0 ... CONSUMER=4; OTLP adds UNSPECIFIED=0
      startTimeUnixNano: hrToNanos(s.startTime),
      endTimeUnixNano: hrToNanos(s.endTime),
      attributes: sdkAttrs(s.attributes, `sdk span ${s.name}`),
      droppedAttributesCount: s.droppedAttributesCount || 0,
      events: s.events.map((e) => ({
        timeUnixNano: hrToNanos(e.time),
        name: e.name,
        attributes: sdkAttrs(e.attributes, `sdk event ${e.name}`),
        droppedAttributesCount: e.droppedAttributesCount || 0,
      })),
      droppedEventsCount: s.droppedEventsCount || 0,
      links: s.links.map((l) => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceState: l.context.traceState ? l.context.traceState.serialize() : '',
        attributes: sdkAttrs(l.attributes, 'sdk link'),
        droppedAttributesCount: l.droppedAttributesCount || 0,
        flags: otlpFlags(l.context.traceFlags, l.context.isRemote),
      })),
      droppedLinksCount: s.droppedLinksCount || 0,
      status: { code: s.status.code, message: s.status.message || '' },
      flags: otlpFlags(ctx.traceFlags, parent ? parent.isRemote : false),
      resource: {
        attributes: sdkAttrs(s.resource.attributes, 'sdk resource'),
        droppedAttributesCount: 0,
        schemaUrl: s.resource.schemaUrl || '',
      },
      scope: {
        name: s.instrumentationScope.name,
        version: s.instrumentationScope.version || '',
        attributes: [],
        droppedAttributesCount: 0,
        schemaUrl: s.instrumentationScope.schemaUrl || '',
      },
    };
  });
}

// ---------------------------------------------------------------- Tempo JSON side (gogo jsonpb)

function b64ToHex(s, bytes, where) {
  assert.equal(typeof s, 'string', `${where}: id must be a base64 string, got ${JSON.stringify(s)}`);
  assert.match(s, /^[A-Za-z0-9+/]*={0,2}$/, `${where}: not standard base64: ${s}`);
  const b = Buffer.from(s, 'base64');
  assert.equal(b.toString('base64'), s, `${where}: not canonical base64: ${s}`);
  if (bytes !== undefined) assert.equal(b.length, bytes, `${where}: id has ${b.length} bytes, want ${bytes}`);
  return b.toString('hex');
}

const optionalId = (s, bytes, where) => (s === undefined || s === '' ? '' : b64ToHex(s, bytes, where));

function u32(v, where) {
  if (v === undefined) return 0;
  assert.equal(typeof v, 'number', `${where}: uint32 must be a JSON number, got ${JSON.stringify(v)}`);
  return v;
}

function u64String(v, where) {
  assert.equal(typeof v, 'string', `${where}: 64-bit integer must be a JSON string, got ${JSON.stringify(v)}`);
  assert.match(v, /^\d+$/, `${where}: not a decimal uint64: ${v}`);
  return BigInt(v).toString();
}

function str(v, where) {
  if (v === undefined) return '';
  assert.equal(typeof v, 'string', `${where}: want a string, got ${JSON.stringify(v)}`);
  return v;
}

function enumName(v, names, where) {
  if (v === undefined) return 0;
  assert.equal(typeof v, 'string', `${where}: enum must be written by name, got ${JSON.stringify(v)}`);
  const i = names.indexOf(v);
  assert.ok(i >= 0, `${where}: unknown enum name ${v}`);
  return i;
}

function jsonValue(v, where) {
  assert.equal(typeof v, 'object', `${where}: AnyValue must be an object`);
  const keys = Object.keys(v);
  assert.equal(keys.length, 1, `${where}: AnyValue must have exactly one field, got ${JSON.stringify(v)}`);
  const [k] = keys;
  const x = v[k];
  switch (k) {
    case 'stringValue': assert.equal(typeof x, 'string', where); return { stringValue: x };
    case 'boolValue': assert.equal(typeof x, 'boolean', where); return { boolValue: x };
    case 'intValue':
      assert.equal(typeof x, 'string', `${where}: intValue must be a JSON string (gogo jsonpb int64), got ${JSON.stringify(x)}`);
      assert.match(x, /^-?\d+$/, where);
      return { intValue: BigInt(x).toString() };
    case 'doubleValue': assert.equal(typeof x, 'number', `${where}: doubleValue must be a JSON number`); return { doubleValue: x };
    case 'bytesValue': return { bytesValue: b64ToHex(x, undefined, where) };
    case 'arrayValue': return { arrayValue: (x.values || []).map((e, i) => jsonValue(e, `${where}[${i}]`)) };
    case 'kvlistValue': return { kvlistValue: (x.values || []).map((kv) => [kv.key, jsonValue(kv.value, `${where}.${kv.key}`)]) };
    default: assert.fail(`${where}: unknown AnyValue field ${k}`);
  }
  return null;
}

function jsonAttrs(list, where) {
  if (list === undefined) return [];
  assert.ok(Array.isArray(list), `${where}: attributes must be an array`);
  return sortAttrs(list.map((kv) => {
    assert.equal(typeof kv.key, 'string', `${where}: key`);
    assert.ok(kv.value !== undefined, `${where}.${kv.key}: missing value`);
    return [kv.key, jsonValue(kv.value, `${where}.${kv.key}`)];
  }), where);
}

/** Canonical spans from a Tempo JSON trace object ({batches:[...]} or {resourceSpans:[...]}). */
function fromTempoJson(trace, topKey, where) {
  assert.ok(trace && typeof trace === 'object', `${where}: not an object`);
  assert.ok(Array.isArray(trace[topKey]), `${where}: missing array "${topKey}" in ${JSON.stringify(trace).slice(0, 200)}`);
  const out = [];
  for (const rs of trace[topKey]) {
    const res = rs.resource || {};
    const resource = {
      attributes: jsonAttrs(res.attributes, `${where} resource`),
      droppedAttributesCount: u32(res.droppedAttributesCount, `${where} resource.droppedAttributesCount`),
      schemaUrl: str(rs.schemaUrl, `${where} resourceSpans.schemaUrl`),
    };
    assert.ok(Array.isArray(rs.scopeSpans), `${where}: ResourceSpans without "scopeSpans" array: ${JSON.stringify(rs).slice(0, 300)}`);
    for (const ss of rs.scopeSpans) {
      const sc = ss.scope || {};
      const scope = {
        name: str(sc.name, `${where} scope.name`),
        version: str(sc.version, `${where} scope.version`),
        attributes: jsonAttrs(sc.attributes, `${where} scope`),
        droppedAttributesCount: u32(sc.droppedAttributesCount, `${where} scope.droppedAttributesCount`),
        schemaUrl: str(ss.schemaUrl, `${where} scopeSpans.schemaUrl`),
      };
      for (const s of ss.spans || []) {
        const w = `${where} span ${s.name}`;
        assert.ok(s.status !== undefined && typeof s.status === 'object', `${w}: "status" must always be present (Tempo writes "status":{})`);
        out.push({
          traceId: b64ToHex(s.traceId, 16, `${w} traceId`),
          spanId: b64ToHex(s.spanId, 8, `${w} spanId`),
          parentSpanId: optionalId(s.parentSpanId, 8, `${w} parentSpanId`),
          traceState: str(s.traceState, `${w} traceState`),
          name: str(s.name, `${w} name`),
          kind: enumName(s.kind, KIND_NAMES, `${w} kind`),
          startTimeUnixNano: u64String(s.startTimeUnixNano, `${w} startTimeUnixNano`),
          endTimeUnixNano: u64String(s.endTimeUnixNano, `${w} endTimeUnixNano`),
          attributes: jsonAttrs(s.attributes, `${w} attributes`),
          droppedAttributesCount: u32(s.droppedAttributesCount, `${w} droppedAttributesCount`),
          events: (s.events || []).map((e) => ({
            timeUnixNano: u64String(e.timeUnixNano, `${w} event ${e.name} timeUnixNano`),
            name: str(e.name, `${w} event name`),
            attributes: jsonAttrs(e.attributes, `${w} event ${e.name}`),
            droppedAttributesCount: u32(e.droppedAttributesCount, `${w} event droppedAttributesCount`),
          })),
          droppedEventsCount: u32(s.droppedEventsCount, `${w} droppedEventsCount`),
          links: (s.links || []).map((l) => ({
            traceId: b64ToHex(l.traceId, 16, `${w} link traceId`),
            spanId: b64ToHex(l.spanId, 8, `${w} link spanId`),
            traceState: str(l.traceState, `${w} link traceState`),
            attributes: jsonAttrs(l.attributes, `${w} link`),
            droppedAttributesCount: u32(l.droppedAttributesCount, `${w} link droppedAttributesCount`),
            flags: u32(l.flags, `${w} link flags`),
          })),
          droppedLinksCount: u32(s.droppedLinksCount, `${w} droppedLinksCount`),
          status: {
            code: enumName(s.status.code, STATUS_NAMES, `${w} status.code`),
            message: str(s.status.message, `${w} status.message`),
          },
          flags: u32(s.flags, `${w} flags`),
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- protobuf side

const hex = (b) => Buffer.from(b || []).toString('hex');

function pbValue(v, where) {
  assert.ok(v && v.value, `${where}: AnyValue with no field set`);
  const k = v.value; // name of the oneof member that was on the wire
  const x = v[k];
  switch (k) {
    case 'stringValue': return { stringValue: x };
    case 'boolValue': return { boolValue: x };
    case 'intValue': return { intValue: BigInt(x).toString() };
    case 'doubleValue': return { doubleValue: x };
    case 'bytesValue': return { bytesValue: hex(x) };
    case 'arrayValue': return { arrayValue: (x.values || []).map((e, i) => pbValue(e, `${where}[${i}]`)) };
    case 'kvlistValue': return { kvlistValue: (x.values || []).map((kv) => [kv.key, pbValue(kv.value, `${where}.${kv.key}`)]) };
    default: assert.fail(`${where}: unknown AnyValue field ${k}`);
  }
  return null;
}

const pbAttrs = (list, where) => sortAttrs((list || []).map((kv) => [kv.key, pbValue(kv.value, `${where}.${kv.key}`)]), where);

function checkIdLen(b, n, where) {
  assert.equal(Buffer.from(b || []).length, n, `${where}: id has ${Buffer.from(b || []).length} bytes, want ${n}`);
  return hex(b);
}

/** Canonical spans from a decoded protobuf Trace message. */
function fromProtoTrace(msg, where) {
  const o = proto().Trace.toObject(msg, { longs: String, enums: Number, bytes: Buffer, defaults: true, oneofs: true });
  const out = [];
  for (const rs of o.resourceSpans) {
    const res = rs.resource || { attributes: [], droppedAttributesCount: 0 };
    const resource = {
      attributes: pbAttrs(res.attributes, `${where} resource`),
      droppedAttributesCount: res.droppedAttributesCount,
      schemaUrl: rs.schemaUrl,
    };
    for (const ss of rs.scopeSpans) {
      const sc = ss.scope || { name: '', version: '', attributes: [], droppedAttributesCount: 0 };
      const scope = {
        name: sc.name,
        version: sc.version,
        attributes: pbAttrs(sc.attributes, `${where} scope`),
        droppedAttributesCount: sc.droppedAttributesCount,
        schemaUrl: ss.schemaUrl,
      };
      for (const s of ss.spans) {
        const w = `${where} span ${s.name}`;
        const status = s.status || { code: 0, message: '' };
        out.push({
          traceId: checkIdLen(s.traceId, 16, `${w} traceId`),
          spanId: checkIdLen(s.spanId, 8, `${w} spanId`),
          parentSpanId: s.parentSpanId.length ? checkIdLen(s.parentSpanId, 8, `${w} parentSpanId`) : '',
          traceState: s.traceState,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: BigInt(s.startTimeUnixNano).toString(),
          endTimeUnixNano: BigInt(s.endTimeUnixNano).toString(),
          attributes: pbAttrs(s.attributes, `${w} attributes`),
          droppedAttributesCount: s.droppedAttributesCount,
          events: s.events.map((e) => ({
            timeUnixNano: BigInt(e.timeUnixNano).toString(),
            name: e.name,
            attributes: pbAttrs(e.attributes, `${w} event ${e.name}`),
            droppedAttributesCount: e.droppedAttributesCount,
          })),
          droppedEventsCount: s.droppedEventsCount,
          links: s.links.map((l) => ({
            traceId: checkIdLen(l.traceId, 16, `${w} link traceId`),
            spanId: checkIdLen(l.spanId, 8, `${w} link spanId`),
            traceState: l.traceState,
            attributes: pbAttrs(l.attributes, `${w} link`),
            droppedAttributesCount: l.droppedAttributesCount,
            flags: l.flags,
          })),
          droppedLinksCount: s.droppedLinksCount,
          status: { code: status.code, message: status.message },
          flags: s.flags,
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

/**
 * Asserts that `actual` holds exactly the spans of `expected` (each span once),
 * comparing every canonical field.
 */
function assertSameSpans(actual, expected, where) {
  const ids = actual.map((s) => s.spanId);
  assert.equal(new Set(ids).size, ids.length, `${where}: a span id comes back more than once: ${ids.join(',')}`);
  assert.deepEqual(ids.slice().sort(), expected.map((s) => s.spanId).sort(), `${where}: set of span ids differs`);
  const byId = new Map(actual.map((s) => [s.spanId, s]));
  for (const e of expected) {
    assert.deepStrictEqual(byId.get(e.spanId), e, `${where}: span "${e.name}" (${e.spanId}) differs`);
  }
}

module.exports = {
  proto, fromSdk, fromTempoJson, fromProtoTrace, assertSameSpans, hrToNanos, KIND_NAMES, STATUS_NAMES,
};

// ---------------------------------------------------------------- canonical -> OTLP request

function otlpValue(t, ids) {
  const [k] = Object.keys(t);
  switch (k) {
    case 'bytesValue': return { bytesValue: Buffer.from(t.bytesValue, 'hex').toString('base64') };
    case 'arrayValue': return { arrayValue: { values: t.arrayValue.map((v) => otlpValue(v, ids)) } };
    case 'kvlistValue': return { kvlistValue: { values: t.kvlistValue.map(([key, v]) => ({ key, value: otlpValue(v, ids) })) } };
    default: return { ...t };
  }
}

const otlpAttrs = (list, ids) => list.map(([key, v]) => ({ key, value: otlpValue(v, ids) }));

/**
 * Builds an OTLP ExportTraceServiceRequest object (OTLP/JSON field names) from
 * canonical spans, one ResourceSpans per span. ids: 'hex' for OTLP/JSON bodies,
 * 'base64' for feeding protobufjs fromObject().
 */
function toOtlpObject(spans, ids) {
  const id = (h) => (h === '' ? undefined : ids === 'hex' ? h : Buffer.from(h, 'hex').toString('base64'));
  return {
    resourceSpans: spans.map((s) => ({
      resource: { attributes: otlpAttrs(s.resource.attributes, ids), droppedAttributesCount: s.resource.droppedAttributesCount },
      schemaUrl: s.resource.schemaUrl,
      scopeSpans: [{
        scope: { name: s.scope.name, version: s.scope.version, attributes: otlpAttrs(s.scope.attributes, ids), droppedAttributesCount: s.scope.droppedAttributesCount },
        schemaUrl: s.scope.schemaUrl,
        spans: [{
          traceId: id(s.traceId),
          spanId: id(s.spanId),
          parentSpanId: id(s.parentSpanId),
          traceState: s.traceState,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: s.startTimeUnixNano,
          endTimeUnixNano: s.endTimeUnixNano,
          attributes: otlpAttrs(s.attributes, ids),
          droppedAttributesCount: s.droppedAttributesCount,
          events: s.events.map((e) => ({ ...e, attributes: otlpAttrs(e.attributes, ids) })),
          droppedEventsCount: s.droppedEventsCount,
          links: s.links.map((l) => ({ ...l, traceId: id(l.traceId), spanId: id(l.spanId), attributes: otlpAttrs(l.attributes, ids) })),
          droppedLinksCount: s.droppedLinksCount,
          status: { code: s.status.code, message: s.status.message },
          flags: s.flags,
        }],
      }],
    })),
  };
}

/** OTLP/JSON request body (hex ids) for canonical spans. */
const toOtlpJson = (spans) => JSON.stringify(toOtlpObject(spans, 'hex'));

/** OTLP/protobuf request body for canonical spans. */
function toOtlpProto(spans) {
  const T = proto().ExportTraceServiceRequest;
  return Buffer.from(T.encode(T.fromObject(toOtlpObject(spans, 'base64'))).finish());
}

/** A minimal canonical span (every field at its default) to build hand-made requests from. */
function canonicalSpan(fields) {
  return normalize({
    traceId: '', spanId: '', parentSpanId: '', traceState: '', name: '', kind: 0,
    startTimeUnixNano: '0', endTimeUnixNano: '0', attributes: [], droppedAttributesCount: 0,
    events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: 0, message: '' }, flags: 0,
    resource: { attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: '', version: '', attributes: [], droppedAttributesCount: 0, schemaUrl: '' },
    ...fields,
  });
}

/** Sorts every attribute list of a canonical span by key, as the converters do. */
function normalize(s) {
  const so = (l) => sortAttrs(l.slice(), 'normalize');
  return {
    ...s,
    attributes: so(s.attributes),
    events: s.events.map((e) => ({ ...e, attributes: so(e.attributes) })),
    links: s.links.map((l) => ({ ...l, attributes: so(l.attributes) })),
    resource: { ...s.resource, attributes: so(s.resource.attributes) },
    scope: { ...s.scope, attributes: so(s.scope.attributes) },
  };
}

Object.assign(module.exports, { toOtlpObject, toOtlpJson, toOtlpProto, canonicalSpan, normalize });

// ---------------------------------------------------------------- trace by ID, every representation

/**
 * GETs a trace from `server` (a VivaceServer) as /api/traces/<id> and /api/v2/traces/<id>, each
 * as JSON and as protobuf, checks status and content type, and returns
 * { 'v1 json', 'v2 json', 'v1 protobuf', 'v2 protobuf' } → canonical spans.
 */
async function fetchAllForms(server, traceId, headers = {}) {
  const out = {};
  const v1 = await server.get(`/api/traces/${traceId}`, headers);
  assert.equal(v1.status, 200, `GET /api/traces/${traceId}: ${v1.status} ${v1.body}`);
  assert.match(v1.headers.get('content-type') || '', /^application\/json/);
  out['v1 json'] = fromTempoJson(JSON.parse(v1.body), 'batches', 'v1 json');

  const v2 = await server.get(`/api/v2/traces/${traceId}`, headers);
  assert.equal(v2.status, 200, `GET /api/v2/traces/${traceId}: ${v2.status} ${v2.body}`);
  assert.match(v2.headers.get('content-type') || '', /^application\/json/);
  const v2body = JSON.parse(v2.body);
  assert.ok(v2body.trace && typeof v2body.trace === 'object', 'v2 json: missing "trace"');
  out['v2 json'] = fromTempoJson(v2body.trace, 'resourceSpans', 'v2 json');

  const pb = { ...headers, Accept: 'application/protobuf' };
  const p1 = await server.get(`/api/traces/${traceId}`, pb);
  assert.equal(p1.status, 200, `GET /api/traces/${traceId} (protobuf): ${p1.status} ${p1.body}`);
  assert.equal(p1.headers.get('content-type'), 'application/protobuf');
  out['v1 protobuf'] = fromProtoTrace(proto().Trace.decode(p1.body), 'v1 protobuf');

  const p2 = await server.get(`/api/v2/traces/${traceId}`, pb);
  assert.equal(p2.status, 200, `GET /api/v2/traces/${traceId} (protobuf): ${p2.status} ${p2.body}`);
  assert.equal(p2.headers.get('content-type'), 'application/protobuf');
  const resp = proto().TraceByIDResponse.decode(p2.body);
  assert.ok(resp.trace, 'v2 protobuf: TraceByIDResponse.trace (field 1) missing');
  out['v2 protobuf'] = fromProtoTrace(resp.trace, 'v2 protobuf');
  return out;
}

Object.assign(module.exports, { fetchAllForms });
