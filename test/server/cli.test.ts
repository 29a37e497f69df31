import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RpcClient, b, s } from './rpc-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BOUND_MS = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/bin/etcdkit.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('etcdkit did not exit in time'));
    }, BOUND_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

test('etcdkit serve prints one ready line, serves KV, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = cli(['serve', '--listen-client-urls', url]);
  const stderr = collect(child.stderr!);
  const done = exited(child);
  try {
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr()}`)), BOUND_MS);
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (line) => {
        lines.push(line);
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', () => reject(new Error(`exited early; stderr: ${stderr()}`)));
    });
    assert.deepEqual(lines, [`etcdkit server ready at ${url}`]);
    const rpc = new RpcClient(`127.0.0.1:${port}`);
    try {
      const put = await rpc.call('KV', 'Put', { key: b('cli'), value: b('works') });
      assert.equal(put.header!.revision, 2n);
      const got = await rpc.call('KV', 'Range', { key: b('cli') });
      assert.equal(s(got.kvs[0]!.value), 'works');
    } finally {
      rpc.close();
    }
    child.kill('SIGTERM');
    assert.deepEqual(await done, { code: 0, signal: null });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await done.catch(() => undefined);
  }
});

test('etcdkit exits 2 with a clear message on an unknown flag', async () => {
  const child = cli(['serve', '--listen-peer-urls', 'http://127.0.0.1:2380']);
  const stderr = collect(child.stderr!);
  const { code } = await exited(child);
  assert.equal(code, 2);
  assert.match(stderr(), /Unknown option '--listen-peer-urls'/);
  assert.match(stderr(), /Usage: etcdkit serve/);
});

test('etcdkit exits 2 on a bad URL and on an unknown command', async () => {
  const bad = cli(['serve', '--listen-client-urls', 'https://127.0.0.1:1']);
  const badErr = collect(bad.stderr!);
  assert.equal((await exited(bad)).code, 2);
  assert.match(badErr(), /only http:\/\/ URLs are supported/);
  const unknown = cli(['frobnicate']);
  const unknownErr = collect(unknown.stderr!);
  assert.equal((await exited(unknown)).code, 2);
  assert.match(unknownErr(), /unknown command "frobnicate"/);
});

test('etcdkit serve --help prints usage and exits 0', async () => {
  const child = cli(['serve', '--help']);
  const stdout = collect(child.stdout!);
  assert.equal((await exited(child)).code, 0);
  assert.match(stdout(), /--listen-client-urls URL/);
});
