// The preview page's static server: files under its root, nothing outside,
// and a request it cannot read is a 400, never a crashed server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { serveStatic } from '../../scripts/static-server.mjs';

/** A raw GET (fetch would normalise the path first). */
const get = (port, path) => new Promise((resolve, reject) => {
  const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => resolve({ status: res.statusCode, body }));
  });
  req.on('error', reject);
  req.end();
});

test('bad escapes are a 400 and the server keeps serving; nothing outside the root', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rolegate-static-'));
  writeFileSync(join(root, 'index.html'), '<p>rolegate</p>');
  const server = await serveStatic(root);
  t.after(async () => { await server.close(); rmSync(root, { recursive: true, force: true }); });
  for (const path of ['/%', '/%zz', '/a%E0%A4%A']) {
    assert.equal((await get(server.port, path)).status, 400, path);
  }
  assert.deepEqual(await get(server.port, '/'), { status: 200, body: '<p>rolegate</p>' });
  // Dot segments, escaped or not, never leave the root.
  for (const path of ['/%2e%2e/%2e%2e/etc/passwd', '/../../etc/passwd']) {
    assert.ok([403, 404].includes((await get(server.port, path)).status), path);
  }
  assert.equal((await get(server.port, '/missing.js')).status, 404);
});
