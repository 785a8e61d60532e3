const {VivaceServer}=require('./lib/server');const http=require('node:http');
const s=new VivaceServer({config:`distributor: {receivers: {otlp: {protocols: {http: {endpoint: 127.0.0.1:\${OTLP_HTTP}, max_request_body_size: 1MiB}, grpc: {endpoint: 127.0.0.1:\${OTLP_GRPC}}}}}}`});
function post(body,chunked){return new Promise(res=>{const h={'Content-Type':'application/x-protobuf'};if(!chunked)h['Content-Length']=body.length;
const rq=http.request({host:'127.0.0.1',port:s.ports.otlpHttp,path:'/v1/traces',method:'POST',headers:h,agent:false},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>res(r.statusCode+' '+b.slice(0,80).trim()))});
rq.on('error',e=>res('ERR '+e.code));if(chunked){for(let i=0;i<body.length;i+=65536)rq.write(body.subarray(i,i+65536));rq.end()}else rq.end(body);});}
(async()=>{await s.start();try{for(const mb of [2,8,32]){const b=Buffer.alloc(mb<<20,1);const out={};for(let i=0;i<5;i++){for(const c of [false,true]){const r=await post(b,c);const k=(c?'chunked ':'CL ')+r;out[k]=(out[k]||0)+1}}console.log(mb+'MiB',out)}
const r=await fetch(s.otlpHttpUrl,{method:'POST',headers:{'Content-Type':'application/x-protobuf'},body:Buffer.alloc(8<<20,1)}).then(r=>r.status,e=>'fetch err '+(e.cause&&e.cause.code));console.log('fetch 8MiB',r);
}finally{await s.cleanup()}})();
