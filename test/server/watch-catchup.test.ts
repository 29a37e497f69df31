/**
 * Watch catch-up and flow control over gRPC: history replay in batches of at most 1000
 * revisions, a slow reader that gets every event in order while the server's held-back output
 * stays bounded, and a reader that falls behind a compaction. Long histories are written
 * in-process (the store directly) where only the watching side is under test.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@grpc/grpc-js';
import type { WatchResponse } from '../../src/protocol/messages.generated.js';
import { startServer, type EtcdServer } from '../../src/server/index.js';
import { STREAM_BACKLOG_LIMIT } from '../../src/server/watch/limits.js';
import { watchMetrics } from '../../src/server/watch/metrics.js';
import { RpcClient, b } from './rpc-client.js';
import { WatchCall, rawClient } from './watch-stream.js';

let server: EtcdServer;
let rpc: RpcClient;
let client: Client;

before(async () => {
  server = await startServer();
  rpc = new RpcClient(server.endpoint);
  client = rawClient(server.endpoint);
});

after(async () => {
  client.close();
  rpc.close();
  await server.close();
});

/**
 * Writes `count` revisions on keys `${prefix}0..6`; returns the last revision. `grpc` sends
 * one Put each (32 in flight); `store` commits in-process (fast history setup), yielding to the
 * event loop every 100 revisions.
 */
async function writeRevisions(prefix: string, count: number, via: 'grpc' | 'store' = 'grpc'): Promise<bigint> {
  let last = 0n;
  if (via === 'store') {
    const store = server.serverContext.store;
    for (let i = 0; i < count; i++) {
      store.write((txn) => txn.put(b(`${prefix}${i % 7}`), b(`v${i}`), 0n));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    return store.revision;
  }
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await rpc.call('KV', 'Put', { key: b(`${prefix}${i % 7}`), value: b(`v${i}`) });
      if (r.header!.revision > last) last = r.header!.revision;
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return last;
}

const prefixEnd = (p: string) => b(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));

/** Reads responses until the watcher has seen revision `last`; checks revisions are contiguous from `first`. */
async function readThrough(w: WatchCall, first: bigint, last: bigint): Promise<WatchResponse[]> {
  const got: WatchResponse[] = [];
  let expect = first;
  for (let i = 0; i < 20_000 && expect <= last; i++) {
    const r = await w.next(10_000);
    assert.equal(r.canceled, false, 'not canceled');
    assert.equal(r.created, false);
    for (const e of r.events) {
      assert.equal(e.kv!.mod_revision, expect, 'no gap, duplicate or reordering');
      expect++;
    }
    got.push(r);
  }
  assert.equal(expect, last + 1n);
  return got;
}

test('a watcher from history gets > 1000 revisions in batches of at most 1000, no gaps or duplicates', async () => {
  const p = 'catchup/';
  const first = (await rpc.call('KV', 'Put', { key: b(`${p}start`), value: b('0') })).header!.revision;
  const last = await writeRevisions(p, 2499, 'store');
  assert.equal(last, first + 2499n);
  const w = new WatchCall(client);
  try {
    w.create({ key: b(p), range_end: prefixEnd(p), start_revision: first });
    const created = await w.next();
    assert.equal(created.created, true);
    const batches = await readThrough(w, first, last);
    const sizes = batches.map((r) => new Set(r.events.map((e) => e.kv!.mod_revision)).size);
    assert.deepEqual(sizes, [1000, 1000, 500]);
    for (const r of batches) assert.equal(r.header!.revision, last, 'catch-up header = current revision');
    // then it is synced: one response per new revision, header = that revision
    const rev = (await rpc.call('KV', 'Put', { key: b(`${p}0`), value: b('x') })).header!.revision;
    const live = await w.next();
    assert.equal(live.header!.revision, rev);
    assert.deepEqual(live.events.map((e) => e.kv!.mod_revision), [rev]);
  } finally {
    w.cancel();
  }
});

test('a slow reader gets every event in order, and the held-back output stays bounded', async () => {
  const p = 'slow/';
  const w = new WatchCall(client);
  try {
    w.create({ key: b(p), range_end: prefixEnd(p), prev_kv: true });
    await w.next();
    w.pause();
    const metricsBefore = watchMetrics(server.serverContext)!;
    const first = (await rpc.call('KV', 'Put', { key: b(`${p}first`), value: b('0') })).header!.revision;
    const last = await writeRevisions(p, 4999);
    assert.equal(last, first + 4999n);
    const m = watchMetrics(server.serverContext)!;
    assert.ok(
      m.peakPendingResponses <= STREAM_BACKLOG_LIMIT + 8,
      `peak held-back responses ${m.peakPendingResponses} exceeds ${STREAM_BACKLOG_LIMIT + 8}`,
    );
    assert.ok(m.demotions > metricsBefore.demotions, 'the watcher was moved to catch-up');
    w.resume();
    await readThrough(w, first, last);
    // caught up: synced again, nothing held back
    const after = watchMetrics(server.serverContext)!;
    assert.equal(after.pendingResponses, 0);
    assert.equal(after.unsyncedWatchers, 0);
    const rev = (await rpc.call('KV', 'Put', { key: b(`${p}0`), value: b('x') })).header!.revision;
    const live = await w.next();
    assert.deepEqual(live.events.map((e) => e.kv!.mod_revision), [rev]);
    assert.ok(live.events[0]!.prev_kv!.mod_revision < rev, 'prev_kv of an update');
  } finally {
    w.cancel();
  }
});

test('a reader that falls behind a compaction gets what was queued, then the compaction cancel', async () => {
  const p = 'behind/';
  const w = new WatchCall(client);
  try {
    w.create({ key: b(p), range_end: prefixEnd(p) });
    await w.next();
    w.pause();
    const first = (await rpc.call('KV', 'Put', { key: b(`${p}first`), value: b('0') })).header!.revision;
    const last = await writeRevisions(p, 2999, 'store');
    await rpc.call('KV', 'Compact', { revision: last });
    w.resume();
    let expect = first;
    let cancel: WatchResponse | undefined;
    for (let i = 0; i < 5000 && cancel === undefined; i++) {
      const r = await w.next(10_000);
      if (r.canceled) cancel = r;
      for (const e of r.events) assert.equal(e.kv!.mod_revision, expect++);
    }
    assert.ok(cancel, 'compaction cancel received');
    assert.equal(cancel.compact_revision, last);
    assert.equal(cancel.header!.revision, 0n);
    assert.ok(expect < last, 'the watcher fell behind before catching up');
    await rpc.call('KV', 'Put', { key: b(`${p}0`), value: b('after') });
    await w.none(200);
  } finally {
    w.cancel();
  }
});
