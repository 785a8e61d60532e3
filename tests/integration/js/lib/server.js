'use strict';
// Helper for integration tests: runs a real vivace binary on free loopback ports
// with a private temporary data directory, and can crash (SIGKILL), stop
// (SIGTERM) and restart it on the same data directory.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const VIVACE_BIN = process.env.VIVACE_BIN || '/work/main/build/bin/vivace';
const READY_TIMEOUT_MS = 20000;

/** Returns a port the kernel reports free on 127.0.0.1 (bind to 0, read, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Returns n distinct free ports. */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` (sync or async) every `intervalMs` until it returns a truthy value, which is
 * returned. After `timeoutMs` throws, naming `what` and, if given, `describe()` (sync or async:
 * the state when it gave up).
 */
async function waitFor(check, { timeoutMs = 10000, intervalMs = 100, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() >= deadline) {
      const state = describe ? `: ${await describe()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state}`);
    }
    await sleep(intervalMs);
  }
}

// Last resort if the test process ends without running its after() hooks
// (uncaught error, process.exit): SIGKILL every server still running, by PID.
const live = new Set();
const tmpDirs = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  if (!process.env.VIVACE_KEEP_DATA) {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  }
});

class VivaceServer {
  /**
   * @param {object} [opts]
   * @param {string} [opts.config]  YAML text written to <tmp>/config.yaml and passed with --config
   *                                (the text may use ${HTTP}, ${GRPC}, ${OTLP_GRPC}, ${OTLP_HTTP} placeholders).
   * @param {string[]} [opts.extraPorts]  more placeholders, each given a free port (this.ports[name]).
   * @param {object} [opts.vars]     fixed placeholder values: {NAME: value} replaces ${NAME}.
   * @param {string[]} [opts.extraArgs]
   */
  constructor(opts = {}) {
    this.opts = opts;
    this.proc = null;
    this.exitPromise = null;
    this.output = '';     // stdout+stderr of all runs, for diagnostics
    this.tmpDir = null;
    this.dataDir = null;
    this.ports = null;
  }

  get httpUrl() { return `http://127.0.0.1:${this.ports.http}`; }
  get otlpHttpUrl() { return `http://127.0.0.1:${this.ports.otlpHttp}/v1/traces`; }
  get otlpGrpcUrl() { return `http://127.0.0.1:${this.ports.otlpGrpc}`; }
  get otlpGrpcAddress() { return `127.0.0.1:${this.ports.otlpGrpc}`; }
  get grpcAddress() { return `127.0.0.1:${this.ports.grpc}`; }
  get pid() { return this.proc ? this.proc.pid : undefined; }

  /** Picks ports, creates the data dir and starts the server; resolves once /ready is 200. */
  async start() {
    if (!fs.existsSync(VIVACE_BIN)) throw new Error(`vivace binary not found at ${VIVACE_BIN} (set VIVACE_BIN)`);
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vivace-it-'));
    tmpDirs.add(this.tmpDir);
    this.dataDir = path.join(this.tmpDir, 'data');
    fs.mkdirSync(this.dataDir);
    // A port found free can be taken by someone else before vivace binds it (shared
    // machine): then retry with new ports.
    for (let attempt = 1; ; attempt++) {
      const extra = this.opts.extraPorts || [];
      const [http, grpc, otlpGrpc, otlpHttp, ...more] = await freePorts(4 + extra.length);
      this.ports = { http, grpc, otlpGrpc, otlpHttp };
      extra.forEach((name, i) => { this.ports[name] = more[i]; });
      if (this.opts.config !== undefined) {
        let text = this.opts.config;
        for (const name of extra) text = text.replaceAll('${' + name + '}', String(this.ports[name]));
        for (const [name, value] of Object.entries(this.opts.vars || {})) text = text.replaceAll('${' + name + '}', String(value));
        text = text
          .replaceAll('${HTTP}', String(http))
          .replaceAll('${GRPC}', String(grpc))
          .replaceAll('${OTLP_GRPC}', String(otlpGrpc))
          .replaceAll('${OTLP_HTTP}', String(otlpHttp));
        this.configPath = path.join(this.tmpDir, 'config.yaml');
        fs.writeFileSync(this.configPath, text);
      }
      const outputBefore = this.output.length;
      try {
        await this._spawn();
        return this;
      } catch (e) {
        const out = this.output.slice(outputBefore);
        if (attempt >= 3 || !/address already in use|cannot listen/i.test(out)) throw e;
      }
    }
  }

  /** (Re)starts the process on the same ports and data dir. */
  async restart() {
    if (this.proc) throw new Error('restart() while the server is still running');
    await this._spawn();
    return this;
  }

  async _spawn() {
    const args = ['serve', '--data-dir', this.dataDir,
      '--http-listen', `127.0.0.1:${this.ports.http}`,
      '--grpc-listen', `127.0.0.1:${this.ports.grpc}`,
      '--otlp-grpc-listen', `127.0.0.1:${this.ports.otlpGrpc}`,
      '--otlp-http-listen', `127.0.0.1:${this.ports.otlpHttp}`];
    if (this.configPath) args.push('--config', this.configPath);
    if (this.opts.extraArgs) args.push(...this.opts.extraArgs);
    // Spawn the binary itself (no shell, no npx) so that proc.pid is the server's PID.
    const proc = spawn(VIVACE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    let sawReadyLine = false;
    proc.stdout.on('data', (d) => {
      const s = d.toString();
      this.output += s;
      if (/^vivace is ready/m.test(this.output)) sawReadyLine = true;
    });
    proc.stderr.on('data', (d) => { this.output += d.toString(); });
    this.exitPromise = new Promise((resolve) => {
      proc.on('exit', (code, signal) => {
        live.delete(proc);
        if (this.proc === proc) this.proc = null;
        resolve({ code, signal });
      });
    });
    let exited = null;
    this.exitPromise.then((e) => { exited = e; });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`vivace exited during startup (${JSON.stringify(exited)}):\n${this.output}`);
      if (sawReadyLine) {
        try {
          const r = await fetch(`${this.httpUrl}/ready`);
          await r.arrayBuffer();
          if (r.status === 200) return;
        } catch { /* not listening yet */ }
      }
      await sleep(25);
    }
    await this.kill9().catch(() => {});
    throw new Error(`vivace not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`);
  }

  /** kill -9 by PID; resolves when the process has exited. */
  async kill9() {
    if (!this.proc) return null;
    const exit = this.exitPromise;
    process.kill(this.proc.pid, 'SIGKILL');
    return exit;
  }

  /** SIGTERM by PID; resolves with {code, signal} once exited (SIGKILL after timeoutMs). */
  async stop(timeoutMs = 15000) {
    if (!this.proc) return null;
    const proc = this.proc;
    const exit = this.exitPromise;
    process.kill(proc.pid, 'SIGTERM');
    let timer;
    const res = await Promise.race([
      exit,
      new Promise((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (res === 'timeout') {
      try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await exit;
      throw new Error(`vivace did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    return res;
  }

  /** Stops the server (SIGKILL if still running) and removes the temp dir. Safe to call repeatedly. */
  async cleanup() {
    if (this.proc) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
      await this.exitPromise;
    }
    if (this.tmpDir && !process.env.VIVACE_KEEP_DATA) {
      fs.rmSync(this.tmpDir, { recursive: true, force: true });
      tmpDirs.delete(this.tmpDir);
      this.tmpDir = null;
    }
  }

  /** GET on the query port; returns {status, headers, body: Buffer}. */
  async get(p, headers = {}) {
    const r = await fetch(`${this.httpUrl}${p}`, { headers });
    const body = Buffer.from(await r.arrayBuffer());
    return { status: r.status, headers: r.headers, body };
  }

  /** Sends a raw request to the OTLP/HTTP port; returns {status, headers, body: Buffer}. */
  async postOtlp(body, headers = {}, method = 'POST') {
    const r = await fetch(this.otlpHttpUrl, { method, headers, body: method === 'GET' ? undefined : body });
    const buf = Buffer.from(await r.arrayBuffer());
    return { status: r.status, headers: r.headers, body: buf };
  }

  /** Value of a Prometheus sample on /metrics (sum of matching series), or 0 when absent. */
  async metric(name, labels = {}) {
    const { body } = await this.get('/metrics');
    return sumMetric(body.toString(), name, labels);
  }
}

/** Sum of the samples of metric `name` in a Prometheus text exposition whose labels include `labels`. */
function sumMetric(text, name, labels = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = {};
    for (const kv of (m[2] || '').slice(1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) ls[kv[1]] = kv[2];
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) total += Number(m[3]);
  }
  return total;
}

module.exports = { VivaceServer, freePort, freePorts, sleep, waitFor, sumMetric, VIVACE_BIN };
