/**
 * The same Watch scenario against the bundled server and a real etcd (3.4.23 from
 * /usr/bin/etcd, started on free loopback ports with a temporary data dir), comparing what
 * each watcher receives. Only behaviour 3.4 and 3.5+ share is compared (not negative start
 * revisions nor progress requests while a watcher is unsynced). Skipped without etcd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@grpc/grpc-js';
import type { WatchResponse } from '../../src/protocol/messages.generated.js';
import { startServer } from '../../src/server/index.js';
import { etcdAvailable, startRealEtcd } from '../harness/real-etcd.js';
import { RpcClient, b, s } from './rpc-client.js';
import { WatchCall, rawClient } from './watch-stream.js';

/** How long a stream must stay silent to count as drained (etcd syncs every 100 ms). */
const QUIET_MS = { etcd: 250, bundled: 100 } as const;
const STEP_BOUND_MS = 5000;

/** What one server showed: per stream and watch ID, the responses in order. */
type Transcript = Record<string, string[]>;

function describe(r: WatchResponse): string {
  const parts = [`rev=${r.header?.revision ?? 'none'}`];
  if (r.created) parts.push('created');
  if (r.canceled) parts.push('canceled');
  if (r.compact_revision !== 0n) parts.push(`compact=${r.compact_revision}`);
  if (r.cancel_reason !== '') parts.push(`reason=${r.cancel_reason}`);
  if (r.fragment) parts.push('fragment');
  for (const e of r.events) {
    const kv = e.kv!;
    const value = kv.value.length > 64 ? `<${kv.value.length} bytes>` : s(kv.value);
    let text = `${e.type === 0 ? 'PUT' : 'DEL'}(${s(kv.key)}=${value} c${kv.create_revision} m${kv.mod_revision} v${kv.version})`;
    if (e.prev_kv) text += `[prev m${e.prev_kv.mod_revision} ${e.prev_kv.value.length}B]`;
    parts.push(text);
  }
  return parts.join(' ');
}

async function scenario(endpoint: string, quietMs: number): Promise<Transcript> {
  const rpc = new RpcClient(endpoint);
  const client: Client = rawClient(endpoint);
  const transcript: Transcript = {};
  const streams: WatchCall[] = [];
  const open = (name: string) => {
    const w = new WatchCall(client);
    streams.push(w);
    return { name, w };
  };
  /** Reads until the stream has been quiet for `quietMs` (bounded). */
  const drain = async ({ name, w }: { name: string; w: WatchCall }) => {
    const end = Date.now() + STEP_BOUND_MS;
    while (Date.now() < end) {
      let r: WatchResponse;
      try {
        r = await w.next(quietMs);
      } catch {
        return;
      }
      (transcript[`${name}#${r.watch_id}`] ??= []).push(describe(r));
    }
  };
  /** Reads exactly `n` responses (for steps whose response count is known). */
  const take = async ({ name, w }: { name: string; w: WatchCall }, n: number) => {
    for (const r of await w.take(n)) (transcript[`${name}#${r.watch_id}`] ??= []).push(describe(r));
  };
  const put = (key: string, value: string | Uint8Array = 'v') =>
    rpc.call('KV', 'Put', { key: b(key), value: typeof value === 'string' ? b(value) : value });
  const end = (p: string) => b(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));
  try {
    // IDs (§16.8)
    const a = open('A');
    a.w.create({ key: b('a') });
    a.w.create({ key: b('a') });
    a.w.create({ key: b('a'), watch_id: 5n });
    a.w.create({ key: b('a'), watch_id: 5n });
    a.w.create({ key: b('z'), range_end: b('a') });
    for (let i = 0; i < 4; i++) a.w.create({ key: b('a') });
    await take(a, 9);

    // events per revision, filters, prev_kv
    const bs = open('B');
    bs.w.create({ key: b('p/'), range_end: end('p/'), prev_kv: true });
    bs.w.create({ key: b('p/'), range_end: end('p/'), filters: [0] });
    bs.w.create({ key: b('p/'), range_end: end('p/'), filters: [1] });
    bs.w.create({ key: new Uint8Array(0), range_end: new Uint8Array([0]) });
    await take(bs, 4);
    await rpc.call('KV', 'Txn', {
      success: [
        { request_put: { key: b('p/x'), value: b('1') } },
        { request_put: { key: b('p/y'), value: b('1') } },
      ],
    });
    await put('p/x', '2');
    await rpc.call('KV', 'DeleteRange', { key: b('p/'), range_end: end('p/') });
    await put('q', 'outside');
    await drain(bs);

    // cancel, progress request, half-close
    bs.w.send({ cancel_request: { watch_id: 55n } });
    bs.w.send({ cancel_request: { watch_id: 1n } });
    bs.w.send({ progress_request: {} });
    await drain(bs);
    bs.w.halfClose();
    await put('p/z', 'after-half-close');
    await drain(bs);

    // compaction
    const c1 = (await put('c/k', '1')).header!.revision;
    const c2 = (await put('c/k', '2')).header!.revision;
    await put('c/k', '3');
    await rpc.call('KV', 'Compact', { revision: c2 });
    const cs = open('C');
    cs.w.create({ key: b('c/'), range_end: end('c/'), start_revision: c1, prev_kv: true });
    cs.w.create({ key: b('c/'), range_end: end('c/'), start_revision: c2, prev_kv: true });
    await drain(cs);
    cs.w.send({ cancel_request: { watch_id: 0n } });
    await drain(cs);

    // catch-up of many revisions
    const m1 = (await put('m/0')).header!.revision;
    for (let i = 1; i < 30; i++) await put(`m/${i % 3}`, `v${i}`);
    await rpc.call('KV', 'DeleteRange', { key: b('m/1') });
    const ms = open('M');
    ms.w.create({ key: b('m/'), range_end: end('m/'), start_revision: m1, filters: [1] });
    ms.w.create({ key: b('m/0'), start_revision: m1 + 1n, prev_kv: true });
    ms.w.create({ key: b('m/'), range_end: end('m/'), start_revision: m1, filters: [0], prev_kv: true });
    await drain(ms);

    // fragments (three 1 MiB prev values in one revision)
    const big = new Uint8Array(1024 * 1024).fill(70);
    for (let i = 0; i < 3; i++) await put(`f/${i}`, big);
    const fs = open('F');
    fs.w.create({ key: b('f/'), range_end: end('f/'), prev_kv: true, fragment: true });
    fs.w.create({ key: b('f/'), range_end: end('f/'), prev_kv: true });
    await take(fs, 2);
    await rpc.call('KV', 'DeleteRange', { key: b('f/'), range_end: end('f/') });
    await drain(fs);
    return transcript;
  } finally {
    for (const w of streams) w.cancel();
    client.close();
    rpc.close();
  }
}

const skip = etcdAvailable();

test('the Watch scenario gives the same responses on the bundled server and on real etcd', { skip }, async () => {
  const etcd = await startRealEtcd();
  let expected: Transcript;
  try {
    expected = await scenario(etcd.endpoint, QUIET_MS.etcd);
  } finally {
    await etcd.stop();
  }
  const bundled = await startServer();
  let actual: Transcript;
  try {
    actual = await scenario(bundled.endpoint, QUIET_MS.bundled);
  } finally {
    await bundled.close();
  }
  assert.ok(Object.keys(expected).length > 10, 'the scenario produced responses');
  assert.deepEqual(actual, expected);
});
