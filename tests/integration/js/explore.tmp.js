const {VivaceServer}=require('./lib/server');const {emitTrace}=require('./lib/otel');const m=require('./lib/model');
(async()=>{const s=new VivaceServer();await s.start();try{
for (const k of ['otlp-grpc','otlp-proto','otlp-http']) {
const r=await emitTrace(k,s);console.log(k, r.traceId, r.spans.length, r.results);
const exp=m.fromSdk(r.spans);
const j=await s.get('/api/traces/'+r.traceId);
if (k==='otlp-http') console.log(j.body.toString());
try{m.assertSameSpans(m.fromTempoJson(JSON.parse(j.body),'batches','v1'),exp,k+' v1');console.log('v1 ok')}catch(e){console.log(e.message)}
const p=await s.get('/api/traces/'+r.traceId,{Accept:'application/protobuf'});
try{m.assertSameSpans(m.fromProtoTrace(m.proto().Trace.decode(p.body),'pb1'),exp,k+' pb v1');console.log('pb ok')}catch(e){console.log(e.message)}
}}finally{await s.cleanup()}})().catch(e=>{console.error(e);process.exit(1)});
