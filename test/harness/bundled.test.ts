import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startBundled, type BundledHandle } from './bundled.js';
import { RawClient } from './raw.js';

const CLI = fileURLToPath(new URL('../../src/bin/etcdkit.ts', import.meta.url));
const text = (s: string) => new TextEncoder().encode(s);

async function putGet(endpoint: string, key: string, value?: string): Promise<string | undefined> {
  const raw = new RawClient(endpoint);
  try {
    if (value !== undefined) {
      const put = await raw.call('KV', 'Put', { key: text(key), value: text(value) }, 5000);
      assert.ok(put.ok, `put failed: ${JSON.stringify(put.err)}`);
    }
    const got = await raw.call('KV', 'Range', { key: text(key) }, 5000);
    assert.ok(got.ok, `range failed: ${JSON.stringify(got.err)}`);
    const kv = got.ok.kvs[0];
    return kv === undefined ? undefined : new TextDecoder().decode(kv.value);
  } finally {
    raw.close();
  }
}

async function refuses(endpoint: string): Promise<boolean> {
  const raw = new RawClient(endpoint);
  try {
    const res = await raw.call('KV', 'Range', { key: text('k') }, 1000);
    return res.err !== undefined && (res.err.code === 14 || res.err.code === 4);
  } finally {
    raw.close();
  }
}

describe('harness: bundled server', () => {
  const started: BundledHandle[] = [];
  after(async () => {
    for (const s of started.splice(0)) await s.stop();
  });

  it('in process: serves, restarts on the same port with its store, and stops', { timeout: 30_000 }, async () => {
    const server = await startBundled();
    started.push(server);
    assert.equal(server.kind, 'bundled');
    assert.match(server.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(server.url, `http://${server.endpoint}`);
    assert.equal(await putGet(server.endpoint, 'harness', 'v1'), 'v1');
    await server.restart();
    assert.equal(await putGet(server.endpoint, 'harness'), 'v1', 'restart keeps the store and the port');
    assert.throws(() => server.pause(), /child process/);
    await server.stop();
    assert.ok(await refuses(server.endpoint), 'a stopped server must not answer');
    await server.stop(); // idempotent
  });

  it(
    'child process: serves, pauses, resumes and stops',
    { timeout: 60_000, skip: existsSync(CLI) ? undefined : 'src/bin/etcdkit.ts (the CLI) does not exist yet' },
    async () => {
      const server = await startBundled({ inProcess: false });
      started.push(server);
      assert.ok(server.process?.pid);
      assert.equal(await putGet(server.endpoint, 'harness', 'v1'), 'v1');
      server.pause();
      assert.ok(await refuses(server.endpoint), 'a paused server must not answer');
      server.resume();
      assert.equal(await putGet(server.endpoint, 'harness'), 'v1');
      await server.stop();
      assert.ok(server.process!.exitCode !== null || server.process!.signalCode !== null);
    },
  );
});
