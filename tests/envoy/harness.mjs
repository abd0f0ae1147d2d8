// Real Envoy for tests: free ports on 127.0.0.1, an echo upstream, raw HTTP/1.1
// requests (so odd paths reach Envoy byte for byte), and cleanup that always
// stops what was started.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envoyBootstrap } from '../../pkg/node.js';

// ROLEGATE_FILTER_WASM runs the tests against another build (e.g. main's, to see a regression test fail there).
export const FILTER_WASM = process.env.ROLEGATE_FILTER_WASM ?? fileURLToPath(new URL('../../target/envoy/rolegate_filter.wasm', import.meta.url));

const running = new Set();
function killAll() {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { killAll(); process.exit(130); });
}

/** Spawns `command`; it is killed if this process exits or is stopped first. */
export function spawnTracked(command, args, options) {
  const child = spawn(command, args, options);
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** Runs a Node script to its end (killed after `timeoutMs`): {code, output}. */
export async function runNodeScript(script, args, { env = process.env, timeoutMs }) {
  const child = spawnTracked(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  // SIGTERM first: the script may have processes of its own to stop.
  const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
  const code = await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}

/**
 * `read()` again every `everyMs` until `done` holds of what it gave, or
 * `waitMs` has passed: the last value read. For what a process writes or
 * counts a little after a test's request is answered.
 */
export async function readUntil(read, done, { waitMs = 5_000, everyMs = 100 } = {}) {
  const deadline = Date.now() + waitMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await read();
  }
  return value;
}

const givenPorts = new Set();
/**
 * A free TCP port on 127.0.0.1, never one this process was given before:
 * the port is closed again until its user binds it, so the kernel may hand
 * the same one out twice (two listeners of one Envoy got the same port).
 */
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = createTcpServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: bound } = server.address();
        server.close(() => resolve(bound));
      });
    });
    if (!givenPorts.has(port)) {
      givenPorts.add(port);
      return port;
    }
  }
}

/** An upstream that answers every request with what it received, as JSON
 * (in the body and, base64url, in the `x-echo` header). */
export async function startUpstream() {
  const seen = []; // every request the upstream received: {method, path}
  const server = createServer((req, res) => {
    seen.push({ method: req.method, path: req.url });
    const body = JSON.stringify({ method: req.method, path: req.url, headers: req.headers });
    // Also in a header, so HEAD requests (no body) can be checked too.
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'echo', 'x-echo': Buffer.from(body).toString('base64url') });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, seen, close: () => new Promise((r) => server.close(r)) };
}

/**
 * Starts Envoy with one listener per policy. Resolves when every listener
 * accepts connections; rejects with Envoy's log if it does not start.
 */
export async function startEnvoy({ policies, upstreamPort, upstreamHost, accessLog = null, timeoutMs = 60_000, extraArgs = [], directResponse = false, clusters = [], concurrency = 1, underscoreHeaders, listenPorts, tls, configTransform = (yaml) => yaml }) {
  if (!existsSync(FILTER_WASM)) throw new Error(`${FILTER_WASM} is missing: run scripts/build-filter.sh`);
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-envoy-'));
  const adminPort = await freePort();
  // Chosen by the caller when a policy must name its own URL (an issuer).
  const ports = listenPorts ? [...listenPorts] : [];
  while (ports.length < policies.length) ports.push(await freePort());
  const config = envoyBootstrap({
    listeners: policies.map((policy, i) => ({ policy, listenPort: ports[i], name: `l${i}` })),
    wasmPath: FILTER_WASM,
    upstreamPort: upstreamPort ?? 9,
    upstreamHost,
    accessLog,
    adminPort,
    directResponse,
    clusters,
    underscoreHeaders,
    ...(tls ? { tls } : {}),
  });
  const configPath = join(dir, 'envoy.yaml');
  writeFileSync(configPath, configTransform(config));
  const child = spawnTracked('envoy', [
    '-c', configPath, '--concurrency', String(concurrency), '--use-dynamic-base-id',
    '--log-level', 'warn', '--component-log-level', 'wasm:info', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = null;
  // 'close', not 'exit': only then has all of Envoy's output been read, so
  // an error thrown below carries the whole log.
  const exitPromise = new Promise((resolve) => child.on('close', (code, signal) => { exited = { code, signal }; resolve(exited); }));

  const envoy = {
    ports,
    adminPort,
    pid: child.pid,
    log: () => log,
    /**
     * The log once it matches `pattern`: Envoy's stderr reaches us through a
     * pipe, so a line written before a response may be read after it.
     */
    waitForLog(pattern, waitMs = 5_000) {
      return readUntil(() => log, (text) => pattern.test(text), { waitMs, everyMs: 20 });
    },
    exited: () => exited,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
    async stats(filter = 'wasmcustom') {
      const res = await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent(filter)}`);
      const stats = {};
      for (const line of (await res.text()).split('\n')) {
        const m = line.match(/^(\S+): (\d+)$/);
        if (m) stats[m[1]] = Number(m[2]);
      }
      return stats;
    },
    // The filter hands its counters to Envoy once a second, on its tick,
    // which a loaded machine may run late: wait for what a test expects
    // rather than for a fixed time.
    /** The counters once `predicate` holds of them (or, after `waitMs`, as they are). */
    statsWhen(predicate, { filter, waitMs = 15_000 } = {}) {
      return readUntil(() => envoy.stats(filter), predicate, { waitMs });
    },
    /** The counters once two reads more than a tick apart agree: every count so far flushed. */
    async settledStats({ filter, waitMs = 15_000 } = {}) {
      const deadline = Date.now() + waitMs;
      let stats = await envoy.stats(filter);
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1_200));
        const next = await envoy.stats(filter);
        const same = JSON.stringify(next) === JSON.stringify(stats);
        stats = next;
        if (same) break;
      }
      return stats;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (exited) {
      await envoy.stop();
      const err = new Error(`envoy exited (${JSON.stringify(exited)}) before it was ready:\n${log}`);
      err.envoyLog = log;
      throw err;
    }
    if (Date.now() > deadline) {
      await envoy.stop();
      throw new Error(`envoy was not ready within ${timeoutMs} ms:\n${log}`);
    }
    if (await isReady(adminPort, ports)) return envoy;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function isReady(adminPort, ports) {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    if ((await res.text()).trim() !== 'LIVE') return false;
    for (const port of ports) {
      await new Promise((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(); });
        s.on('error', reject);
      });
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends one HTTP/1.1 request byte for byte. `headers` is a list of [name, value].
 * Resolves to {status, headers: {name: [values]}, body} as soon as the whole
 * response is in (waiting for the close would add Envoy's delayed-close second).
 */
export function rawRequest(port, { method = 'GET', path, headers = [], body }, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const lines = [`${method} ${path} HTTP/1.1`, 'host: rolegate.test', 'connection: close'];
    for (const [name, value] of headers) lines.push(`${name}: ${value}`);
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (error, response) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(response);
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms for ${method} ${path}`)), timeoutMs);
    // No half-close: Envoy treats it as the client going away.
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'), Buffer.from(body ?? '')])));
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      const response = tryParse(received, method, false);
      if (response) finish(null, response);
    });
    socket.on('error', (e) => finish(e));
    socket.on('close', () => {
      try {
        finish(null, tryParse(received, method, true) ?? parseFailure(received));
      } catch (e) {
        finish(e);
      }
    });
  });
}

function parseFailure(buffer) {
  throw new Error(`incomplete response: ${JSON.stringify(buffer.toString('latin1').slice(0, 200))}`);
}

/** The response if complete (or if the connection closed), else null. */
function tryParse(buffer, method, closed) {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...headerLines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    (headers[line.slice(0, i).trim().toLowerCase()] ??= []).push(line.slice(i + 1).trim());
  }
  let body = buffer.subarray(end + 4);
  if (method === 'HEAD' || status === 204 || status === 304) return { status, headers, body: '' };
  if ((headers['transfer-encoding'] ?? []).includes('chunked')) {
    const chunks = dechunk(body);
    if (!chunks && !closed) return null;
    return { status, headers, body: (chunks ?? body).toString('utf8') };
  }
  const length = headers['content-length'] ? Number(headers['content-length'][0]) : null;
  if (length !== null) {
    if (body.length < length && !closed) return null;
    body = body.subarray(0, length);
  } else if (!closed) {
    return null;
  }
  return { status, headers, body: body.toString('utf8') };
}

/** The de-chunked body, or null while the final chunk has not arrived. */
function dechunk(buffer) {
  const out = [];
  let i = 0;
  while (true) {
    const lineEnd = buffer.indexOf('\r\n', i);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.subarray(i, lineEnd).toString(), 16);
    if (size === 0) return Buffer.concat(out);
    if (Number.isNaN(size) || buffer.length < lineEnd + 2 + size + 2) return null;
    out.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    i = lineEnd + 2 + size + 2;
  }
}
