'use strict';
// Emits a fixed-shape trace through a real OpenTelemetry JS SDK pipeline
// (NodeTracerProvider + BatchSpanProcessor + a real OTLP exporter) and records
// exactly which spans the SDK handed to the exporter and the export results.

const api = require('@opentelemetry/api');
const { TraceState } = require('@opentelemetry/core');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const crypto = require('node:crypto');

const grpcExporter = (opts) => (server) =>
  new (require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter)({ url: server.otlpGrpcUrl, ...opts });
const protoExporter = (opts) => (server) =>
  new (require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)({ url: server.otlpHttpUrl, ...opts });
const jsonExporter = (opts) => (server) =>
  new (require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)({ url: server.otlpHttpUrl, ...opts });

// Exporter name -> factory. The "+gzip" variants compress: gRPC message compression
// (grpc-encoding: gzip) and HTTP Content-Encoding: gzip.
const EXPORTERS = {
  'otlp-grpc': grpcExporter({}),
  'otlp-proto': protoExporter({}),
  'otlp-http': jsonExporter({}),
  'otlp-grpc+gzip': grpcExporter({ compression: 'gzip' }),
  'otlp-proto+gzip': protoExporter({ compression: 'gzip' }),
  'otlp-http+gzip': jsonExporter({ compression: 'gzip' }),
};

/** Wraps a SpanExporter; remembers every span passed to export() and every result. */
class RecordingExporter {
  constructor(inner) {
    this.inner = inner;
    this.spans = [];
    this.results = [];
  }
  export(spans, resultCallback) {
    this.spans.push(...spans);
    this.inner.export(spans, (result) => {
      this.results.push(result);
      resultCallback(result);
    });
  }
  forceFlush() { return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve(); }
  shutdown() { return this.inner.shutdown(); }
}

/** A sampler that samples everything and stamps a W3C tracestate on every span. */
class TraceStateSampler {
  constructor(traceState) { this.traceState = traceState; }
  shouldSample() {
    return { decision: 2 /* RECORD_AND_SAMPLED */, traceState: this.traceState };
  }
  toString() { return 'TraceStateSampler'; }
}

const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');

/**
 * Emits root (SERVER) -> child (CLIENT) -> grandchild (INTERNAL) with explicit
 * timestamps, attributes of every type, events, a link and an ERROR status.
 * Returns { traceId, spans (ReadableSpan[] given to the exporter), results, link }.
 */
async function emitTrace(kind, server) {
  const recorder = new RecordingExporter(EXPORTERS[kind](server));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': `vivace-it-${kind}`,
      'service.version': '1.0.0-it',
      'res.int': 123456,
      'res.negative_int': -42,
      'res.double': 2.75,
      'res.bool': true,
      'res.string_array': ['alpha', 'beta', 'gamma'],
    }, { schemaUrl: 'https://opentelemetry.io/schemas/1.26.0' }),
    sampler: new TraceStateSampler(new TraceState('vivace=it,congo=t61rcWkgMzE')),
    spanProcessors: [new BatchSpanProcessor(recorder, { scheduledDelayMillis: 50, maxExportBatchSize: 512 })],
  });
  try {
    const tracer = provider.getTracer('vivace-it-scope', '3.1.4', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' });

    // Explicit times, with odd nanosecond parts so that any rounding shows.
    const base = Math.floor(Date.now() / 1000) - 120;
    const t = (sec, ns) => [base + sec, ns];

    const link = {
      context: {
        traceId: randomHex(16),
        spanId: randomHex(8),
        traceFlags: api.TraceFlags.SAMPLED,
        isRemote: true,
        traceState: new TraceState('linked=yes'),
      },
      attributes: { 'link.reason': 'follows-from', 'link.int': 7, 'link.double': 0.5, 'link.bool': false, 'link.array': [1, 2, 3] },
    };

    const root = tracer.startSpan('GET /checkout', {
      kind: api.SpanKind.SERVER,
      startTime: t(0, 123456789),
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'attr.string': 'héllo wörld "quoted" \\ \n',
        'attr.empty_string': '',
        'attr.bool_true': true,
        'attr.bool_false': false,
        'attr.int': 42,
        'attr.int_zero': 0,
        'attr.int_negative': -1234567,
        'attr.int_max_safe': Number.MAX_SAFE_INTEGER,
        'attr.int_min_safe': Number.MIN_SAFE_INTEGER,
        'attr.double': 3.14159,
        'attr.double_negative': -0.001,
        'attr.double_tiny': 5e-300,
        'attr.double_precise': 123456.78901234567, // (doubles above 2^53 are integers to the SDK and go out as intValue)
        'attr.string_array': ['a', 'b', ''],
        'attr.bool_array': [true, false, true],
        'attr.int_array': [1, -2, 3000000000],
        'attr.double_array': [1.5, -2.25, 1e-9],
        'attr.empty_array': [],
      },
      links: [link],
    }, api.ROOT_CONTEXT);
    root.addEvent('request.received', { 'event.string': 'v', 'event.int': 9, 'event.double': 9.5, 'event.bool': true, 'event.array': ['x', 'y'] }, t(0, 200000001));
    root.setStatus({ code: api.SpanStatusCode.OK });

    const child = tracer.startSpan('call payment-service', {
      kind: api.SpanKind.CLIENT,
      startTime: t(0, 300000003),
      attributes: { 'peer.service': 'payment', 'retry.count': 2 },
    }, api.trace.setSpan(api.ROOT_CONTEXT, root));
    child.addEvent('retry', { attempt: 1 }, t(0, 400000004));
    child.addEvent('no-attributes', t(0, 450000005));
    child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'payment declined: card expired' });

    const grandchild = tracer.startSpan('db.query', {
      startTime: t(0, 500000007),
      attributes: { 'db.system': 'postgresql', 'db.rows': 17, 'db.cost': 0.75, 'db.cached': false, 'db.tables': ['orders', 'items'] },
    }, api.trace.setSpan(api.ROOT_CONTEXT, child));
    grandchild.end(t(0, 899999999));
    child.end(t(1, 1));
    root.end(t(2, 999999999));

    await provider.forceFlush();
    return { traceId: root.spanContext().traceId, spans: recorder.spans.slice(), results: recorder.results.slice(), link };
  } finally {
    await provider.shutdown();
  }
}

/**
 * Emits arbitrary spans through a fresh SDK pipeline: NodeTracerProvider + BatchSpanProcessor +
 * a real OTLP exporter of `kind`. `build(tracer)` (sync or async) starts and ends the spans;
 * then the provider is flushed and shut down.
 * opts: resource (attributes), resourceSchemaUrl, scope {name, version, schemaUrl},
 *       traceState (W3C tracestate string stamped on every span; default none).
 * Returns { spans (ReadableSpan[] given to the exporter), results (export results),
 *           value (what build returned) }.
 */
async function emitSpans(kind, server, opts, build) {
  const recorder = new RecordingExporter(EXPORTERS[kind](server));
  const scope = opts.scope || { name: 'vivace-it', version: '' };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes(opts.resource || {}, opts.resourceSchemaUrl ? { schemaUrl: opts.resourceSchemaUrl } : {}),
    ...(opts.traceState ? { sampler: new TraceStateSampler(new TraceState(opts.traceState)) } : {}),
    spanProcessors: [new BatchSpanProcessor(recorder, { scheduledDelayMillis: 50, maxExportBatchSize: 512, maxQueueSize: 8192 })],
  });
  try {
    const tracer = provider.getTracer(scope.name, scope.version, scope.schemaUrl ? { schemaUrl: scope.schemaUrl } : undefined);
    const value = await build(tracer);
    await provider.forceFlush();
    return { spans: recorder.spans.slice(), results: recorder.results.slice(), value };
  } finally {
    await provider.shutdown();
  }
}

/** Exports already-finished spans once more through a fresh exporter of the given kind. */
async function reexport(kind, server, spans) {
  const exporter = EXPORTERS[kind](server);
  try {
    return await new Promise((resolve) => exporter.export(spans, resolve));
  } finally {
    await exporter.shutdown();
  }
}

module.exports = { emitTrace, emitSpans, reexport, RecordingExporter, EXPORTERS, randomHex };
