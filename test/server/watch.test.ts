/**
 * The Watch service over gRPC (raw protocol layer, no etcdkit client): IDs, create/cancel,
 * events per revision, filters, prev_kv, compaction, progress, fragments, call lifecycle, and
 * the golden observations of server-spec §16 items 8-12.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdErrors, watchCancelReasons } from '../../src/protocol/error-table.js';
import type { WatchResponse } from '../../src/protocol/messages.generated.js';
import { ManualClock, startServer, type EtcdServer } from '../../src/server/index.js';
import { watchMetrics } from '../../src/server/watch/metrics.js';
import { RpcClient, b, s } from './rpc-client.js';
import { WatchCall, rawClient } from './watch-stream.js';
import type { Client } from '@grpc/grpc-js';

let server: EtcdServer;
let rpc: RpcClient;
let client: Client;
const calls: WatchCall[] = [];

before(async () => {
  server = await startServer();
  rpc = new RpcClient(server.endpoint);
  client = rawClient(server.endpoint);
});

after(async () => {
  for (const c of calls) c.cancel();
  client.close();
  rpc.close();
  await server.close();
});

/** A new Watch call on the shared server (cancelled after the file). */
function open(on: Client = client): WatchCall {
  const c = new WatchCall(on);
  calls.push(c);
  return c;
}

let n = 0;
/** Every test works under its own prefix on the shared server. */
const scope = () => `w${++n}/`;
const prefixEnd = (p: string) => b(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));

async function put(key: string, value = 'v'): Promise<bigint> {
  return (await rpc.call('KV', 'Put', { key: b(key), value: b(value) })).header!.revision;
}

async function current(): Promise<bigint> {
  return (await rpc.call('KV', 'Range', { key: b('any') })).header!.revision;
}

/** Events of a response as `P:key@rev` / `D:key@rev` strings (`+prev=value` when present). */
const evs = (r: WatchResponse) =>
  r.events.map((e) => `${e.type === 0 ? 'P' : 'D'}:${s(e.kv!.key)}@${e.kv!.mod_revision}${e.prev_kv ? `+prev=${s(e.prev_kv.value)}` : ''}`);

function assertCreated(r: WatchResponse, id: bigint, revision?: bigint, on: EtcdServer = server) {
  assert.equal(r.created, true, 'created');
  assert.equal(r.canceled, false, 'not canceled');
  assert.equal(r.watch_id, id);
  assert.deepEqual(r.events, []);
  assert.equal(r.header!.cluster_id, on.clusterId);
  assert.equal(r.header!.member_id, on.memberId);
  if (revision !== undefined) assert.equal(r.header!.revision, revision);
}

function assertRejected(r: WatchResponse, reason: string) {
  assert.equal(r.created, true);
  assert.equal(r.canceled, true);
  assert.equal(r.watch_id, -1n);
  assert.equal(r.cancel_reason, reason);
}

test('§16.8 watch IDs: auto from 0, client-chosen, duplicate, empty range, auto skips IDs in use', async () => {
  const w = open();
  const rev = await current();
  w.create({ key: b('a') });
  assertCreated(await w.next(), 0n, rev);
  w.create({ key: b('a') });
  assertCreated(await w.next(), 1n, rev);
  w.create({ key: b('a'), watch_id: 5n });
  assertCreated(await w.next(), 5n, rev);
  w.create({ key: b('a'), watch_id: 5n });
  assertRejected(await w.next(), watchCancelReasons.duplicateId);
  w.create({ key: b('z'), range_end: b('a') });
  assertRejected(await w.next(), watchCancelReasons.emptyRange);
  w.create({ key: b('a'), range_end: b('a') });
  assertRejected(await w.next(), watchCancelReasons.emptyRange);
  const ids: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    w.create({ key: b('a') });
    ids.push((await w.next()).watch_id);
  }
  assert.deepEqual(ids, [2n, 3n, 4n, 6n]);
  // a cancelled client-chosen ID can be used again; IDs are per stream
  w.send({ cancel_request: { watch_id: 5n } });
  assert.equal((await w.next()).canceled, true);
  w.create({ key: b('a'), watch_id: 5n });
  assertCreated(await w.next(), 5n);
  const other = open();
  other.create({ key: b('a') });
  assertCreated(await other.next(), 0n);
});

test('§16.9 a watch from a compacted revision: created, then the compaction cancel, then nothing', async () => {
  const p = scope();
  const first = await put(`${p}a`);
  await put(`${p}a`);
  const compactAt = await put(`${p}a`);
  await rpc.call('KV', 'Compact', { revision: compactAt });
  const rev = await current();
  const w = open();
  w.create({ key: b(p), range_end: prefixEnd(p), start_revision: first });
  assertCreated(await w.next(), 0n, rev);
  const c = await w.next();
  assert.equal(c.canceled, true);
  assert.equal(c.created, false);
  assert.equal(c.watch_id, 0n);
  assert.equal(c.compact_revision, compactAt);
  assert.equal(c.cancel_reason, '');
  assert.equal(c.header!.revision, 0n, 'no revision in the header');
  assert.equal(c.header!.cluster_id, server.clusterId);
  await put(`${p}a`);
  await w.none(200);
  // it keeps its ID until cancelled; then the normal canceled response
  w.create({ key: b(p), watch_id: 0n });
  assertCreated(await w.next(), 1n);
  w.send({ cancel_request: { watch_id: 0n } });
  const cancel = await w.next();
  assert.deepEqual(
    { id: cancel.watch_id, canceled: cancel.canceled, rev: cancel.header!.revision },
    { id: 0n, canceled: true, rev: await current() },
  );
  // starting exactly at the compacted revision is allowed
  w.create({ key: b(p), range_end: prefixEnd(p), start_revision: compactAt, watch_id: 9n });
  assertCreated(await w.next(), 9n);
  assert.deepEqual(evs(await w.next()), [`P:${p}a@${compactAt}`, `P:${p}a@${compactAt + 1n}`]);
});

test('§16.10 catch-up: revisions 14..16 in one response, header = current, prev_kv on the deletes only', async () => {
  const fresh = await startServer();
  const c = new RpcClient(fresh.endpoint);
  const gc = rawClient(fresh.endpoint);
  try {
    for (let i = 0; i < 12; i++) await c.call('KV', 'Put', { key: b(`pad${i}`), value: b('x') }); // revisions 2..13
    const putBoth = {
      success: [
        { request_put: { key: b('a'), value: b('1') } },
        { request_put: { key: b('b'), value: b('1') } },
      ],
    };
    assert.equal((await c.call('KV', 'Txn', putBoth)).header!.revision, 14n);
    assert.equal((await c.call('KV', 'DeleteRange', { key: b('a'), range_end: b('c') })).header!.revision, 15n);
    assert.equal((await c.call('KV', 'Txn', putBoth)).header!.revision, 16n);
    const w = new WatchCall(gc);
    w.create({ key: b('a'), range_end: b('c'), start_revision: 14n, prev_kv: true });
    assertCreated(await w.next(), 0n, 16n, fresh);
    const r = await w.next();
    assert.equal(r.header!.revision, 16n);
    assert.deepEqual(evs(r), ['P:a@14', 'P:b@14', 'D:a@15+prev=1', 'D:b@15+prev=1', 'P:a@16', 'P:b@16']);
    // a DELETE event carries only key and mod_revision
    const del = r.events[2]!.kv!;
    assert.deepEqual([del.create_revision, del.version, del.value.length, del.lease], [0n, 0n, 0, 0n]);
    w.cancel();
  } finally {
    gc.close();
    c.close();
    await fresh.close();
  }
});

test('§16.11 progress_request: -1 at the current revision once every watcher is synced', async () => {
  const p = scope();
  const w = open();
  w.send({ progress_request: {} });
  await w.none(200); // no watchers: nothing at all
  w.create({ key: b(`${p}k`) });
  await w.next();
  await put(`${p}k`);
  assert.deepEqual(evs(await w.next()).length, 1);
  w.send({ progress_request: {} });
  const pr = await w.next();
  assert.deepEqual(
    { id: pr.watch_id, rev: pr.header!.revision, created: pr.created, canceled: pr.canceled, events: pr.events.length },
    { id: -1n, rev: await current(), created: false, canceled: false, events: 0 },
  );
  // a watcher waiting for a future start revision blocks it (3.5+) ...
  w.create({ key: b(`${p}k`), start_revision: (await current()) + 10n, watch_id: 50n });
  await w.next();
  w.send({ progress_request: {} });
  await w.none(200);
  w.send({ cancel_request: { watch_id: 50n } });
  assert.equal((await w.next()).canceled, true);
  w.send({ progress_request: {} });
  assert.equal((await w.next()).watch_id, -1n);
  // ... and so does a watcher cancelled by compaction
  const w2 = open();
  const old = await put(`${p}k`);
  await put(`${p}k`);
  await rpc.call('KV', 'Compact', { revision: await current() });
  w2.create({ key: b(`${p}k`), start_revision: old });
  await w2.next();
  assert.notEqual((await w2.next()).compact_revision, 0n);
  w2.send({ progress_request: {} });
  await w2.none(200);
});

test('§16.12 cancel: unknown ID -> nothing; existing -> canceled at the current revision, then nothing', async () => {
  const p = scope();
  const w = open();
  w.create({ key: b(`${p}k`) });
  await w.next();
  w.send({ cancel_request: { watch_id: 55n } });
  await w.none(200);
  w.send({ cancel_request: { watch_id: 0n } });
  const c = await w.next();
  assert.deepEqual(
    { id: c.watch_id, canceled: c.canceled, created: c.created, rev: c.header!.revision, reason: c.cancel_reason },
    { id: 0n, canceled: true, created: false, rev: await current(), reason: '' },
  );
  await put(`${p}k`);
  await w.none(200);
  w.send({ cancel_request: { watch_id: 0n } });
  await w.none(100);
});

test('one response per revision with all of its events; header.revision = that revision', async () => {
  const p = scope();
  const w = open();
  w.create({ key: b(p), range_end: prefixEnd(p) });
  await w.next();
  const txn = await rpc.call('KV', 'Txn', {
    success: [
      { request_put: { key: b(`${p}x`), value: b('1') } },
      { request_put: { key: b(`${p}y`), value: b('1') } },
    ],
  });
  const r = await w.next();
  assert.equal(r.header!.revision, txn.header!.revision);
  assert.deepEqual(evs(r), [`P:${p}x@${txn.header!.revision}`, `P:${p}y@${txn.header!.revision}`]);
  const del = await rpc.call('KV', 'DeleteRange', { key: b(p), range_end: prefixEnd(p) });
  const d = await w.next();
  assert.equal(d.header!.revision, del.header!.revision);
  assert.deepEqual(evs(d), [`D:${p}x@${del.header!.revision}`, `D:${p}y@${del.header!.revision}`]);
  // writes outside the range produce nothing; later ones in order
  await put(`${p.slice(0, -1)}0`);
  const revs: bigint[] = [];
  for (let i = 0; i < 5; i++) revs.push(await put(`${p}k${i}`));
  const got = await w.take(5);
  assert.deepEqual(got.map((x) => x.header!.revision), revs);
});

test('filters: NOPUT and NODELETE; a revision left empty by the filter is skipped', async () => {
  const p = scope();
  const w = open();
  w.create({ key: b(p), range_end: prefixEnd(p), filters: [0], watch_id: 1n }); // NOPUT
  w.create({ key: b(p), range_end: prefixEnd(p), filters: [1], watch_id: 2n }); // NODELETE
  w.create({ key: b(p), range_end: prefixEnd(p), filters: [0, 1], watch_id: 3n });
  await w.take(3);
  const r1 = await put(`${p}a`);
  const mixed = await rpc.call('KV', 'Txn', {
    success: [
      { request_delete_range: { key: b(`${p}a`) } },
      { request_put: { key: b(`${p}b`), value: b('1') } },
    ],
  });
  const r2 = mixed.header!.revision;
  const got = await w.take(3);
  const by = (id: bigint) => got.filter((r) => r.watch_id === id).map((r) => `${r.header!.revision}:${evs(r).join(',')}`);
  assert.deepEqual(by(1n), [`${r2}:D:${p}a@${r2}`]);
  assert.deepEqual(by(2n), [`${r1}:P:${p}a@${r1}`, `${r2}:P:${p}b@${r2}`]);
  assert.deepEqual(by(3n), []);
  await w.none(150);
});

test('prev_kv: on updates and deletes, never on creates', async () => {
  const p = scope();
  const w = open();
  w.create({ key: b(p), range_end: prefixEnd(p), prev_kv: true });
  await w.next();
  await put(`${p}a`, '1');
  await put(`${p}a`, '2');
  await rpc.call('KV', 'DeleteRange', { key: b(`${p}a`) });
  await put(`${p}a`, '3');
  const got = (await w.take(4)).map((r) => evs(r)[0]!.replace(/@\d+/, ''));
  assert.deepEqual(got, [`P:${p}a`, `P:${p}a+prev=1`, `D:${p}a+prev=2`, `P:${p}a`]);
  const prev = (await (async () => {
    await put(`${p}a`, '4');
    return w.next();
  })()).events[0]!.prev_kv!;
  assert.equal(s(prev.value), '3');
  assert.equal(prev.version, 1n);
});

test('created responses go out in request order, each before any event of its watcher', async () => {
  const p = scope();
  const base = await put(`${p}k`, '0');
  const w = open();
  const total = 24;
  for (let i = 0; i < total; i++) {
    // mix watchers from now, from history and from the future, all sent at once
    const start = i % 3 === 0 ? 0n : i % 3 === 1 ? base : base + 3n;
    w.create({ key: b(`${p}k`), start_revision: start });
  }
  // write while the creates are being answered
  const writes = Promise.all([put(`${p}k`, '1'), put(`${p}k`, '2'), put(`${p}k`, '3'), put(`${p}k`, '4')]);
  const created: bigint[] = [];
  const eventsBeforeCreated: bigint[] = [];
  const seen = new Map<bigint, bigint[]>();
  let last: bigint | undefined;
  for (let i = 0; i < 2000 && (last === undefined || [...seen.values()].filter((r) => r.at(-1) === last).length < total); i++) {
    const r = await w.next();
    if (r.created) {
      created.push(r.watch_id);
      if (created.length === total) {
        await writes;
        last = await put(`${p}k`, 'last'); // every watcher sees this one
      }
      continue;
    }
    if (!created.includes(r.watch_id)) eventsBeforeCreated.push(r.watch_id);
    const list = seen.get(r.watch_id) ?? [];
    for (const e of r.events) list.push(e.kv!.mod_revision);
    seen.set(r.watch_id, list);
  }
  assert.deepEqual(created, Array.from({ length: total }, (_, i) => BigInt(i)));
  assert.deepEqual(eventsBeforeCreated, []);
  assert.equal(seen.size, total);
  for (const [id, revs] of seen) {
    // strictly increasing, contiguous from where the watcher started
    const from = id % 3n === 1n ? base : id % 3n === 2n ? base + 3n : revs[0]!;
    assert.deepEqual(revs, Array.from({ length: Number(last! - from) + 1 }, (_, k) => from + BigInt(k)), `watcher ${id}`);
  }
});

test('key forms: empty key is \\0, range_end \\0 is from-key, key \\0 + range_end \\0 is every key', async () => {
  const p = scope();
  const w = open();
  w.create({ key: new Uint8Array(0), range_end: new Uint8Array([0]), watch_id: 1n }); // all keys
  w.create({ key: b(`${p}m`), range_end: new Uint8Array([0]), watch_id: 2n }); // from key
  w.create({ key: new Uint8Array(0), watch_id: 3n }); // the single key \0
  await w.take(3);
  const r1 = await put(`${p}a`);
  const r2 = await put(`${p}z`);
  const r3 = (await rpc.call('KV', 'Put', { key: new Uint8Array([0]), value: b('nul') })).header!.revision;
  const got = (await w.take(5)).map((r) => `${r.watch_id}@${r.header!.revision}`).sort();
  assert.deepEqual(got, [`1@${r1}`, `1@${r2}`, `1@${r3}`, `2@${r2}`, `3@${r3}`].sort());
  await w.none(150);
});

test('a negative start_revision is refused with the compacted message (3.5+)', async () => {
  const w = open();
  w.create({ key: b('a'), start_revision: -3n });
  const r = await w.next();
  assertRejected(r, etcdErrors.compacted.message);
  assert.equal(r.header!.revision, await current());
  w.create({ key: b('a') });
  assertCreated(await w.next(), 0n);
});

test('unknown request kinds are ignored; a client half-close does not end the call', async () => {
  const p = scope();
  const w = open();
  w.create({ key: b(`${p}k`) });
  await w.next();
  w.send({});
  w.halfClose();
  const rev = await put(`${p}k`);
  assert.equal((await w.next()).header!.revision, rev);
  assert.equal(w.status, undefined);
});

test('cancelling the call drops all its watchers', async () => {
  const local = await startServer();
  const c = rawClient(local.endpoint);
  try {
    const w = new WatchCall(c);
    w.create({ key: b('a') });
    w.create({ key: b('b'), range_end: b('c') });
    await w.take(2);
    assert.deepEqual(pick(watchMetrics(local.serverContext)!), { streams: 1, syncedWatchers: 2, unsyncedWatchers: 0 });
    w.cancel();
    await w.ended();
    await until(() => watchMetrics(local.serverContext)!.streams === 0);
    assert.deepEqual(pick(watchMetrics(local.serverContext)!), { streams: 0, syncedWatchers: 0, unsyncedWatchers: 0 });
  } finally {
    c.close();
    await local.close();
  }
});

test('stop() ends open watch calls and drops their watchers; the server serves watches after start()', async () => {
  const local = await startServer();
  const c = rawClient(local.endpoint);
  try {
    const w = new WatchCall(c);
    w.create({ key: b('a') });
    await w.next();
    await local.stop();
    const st = await w.ended();
    assert.notEqual(st.code, 0);
    assert.deepEqual(pick(watchMetrics(local.serverContext)!), { streams: 0, syncedWatchers: 0, unsyncedWatchers: 0 });
    await local.start();
    const w2 = new WatchCall(c);
    w2.create({ key: b('a') });
    assertCreated(await w2.next(10_000), 0n, undefined, local);
    w2.cancel();
  } finally {
    c.close();
    await local.close();
  }
});

test('progress_notify: a synced watcher with no events since the last tick gets {watch_id, current revision}', async () => {
  const clock = new ManualClock();
  const local = await startServer({ clock });
  const c = rawClient(local.endpoint);
  const kv = new RpcClient(local.endpoint);
  try {
    const before = clock.pendingTimers;
    const w = new WatchCall(c);
    w.create({ key: b('k'), progress_notify: true, watch_id: 7n });
    w.create({ key: b('k'), watch_id: 8n }); // no progress_notify: never notified
    await w.take(2);
    const tenMinutes = 10 * 60 * 1000;
    clock.advance(tenMinutes * 1.1);
    const p1 = await w.next();
    assert.deepEqual(
      { id: p1.watch_id, rev: p1.header!.revision, events: p1.events.length, created: p1.created, canceled: p1.canceled },
      { id: 7n, rev: local.revision, events: 0, created: false, canceled: false },
    );
    await kv.call('KV', 'Put', { key: b('k'), value: b('v') });
    assert.equal((await w.take(2)).every((r) => r.events.length === 1), true);
    clock.advance(tenMinutes * 1.1); // events since the last tick: no notification
    await w.none(150);
    clock.advance(tenMinutes * 1.1);
    assert.equal((await w.next()).watch_id, 7n);
    w.cancel();
    await w.ended();
    await until(() => watchMetrics(local.serverContext)!.streams === 0);
    assert.equal(clock.pendingTimers, before, 'the progress timer is released with its stream');
  } finally {
    kv.close();
    c.close();
    await local.close();
  }
});

test('fragment: a revision over 2 MiB is split into pieces below it; without fragment one response', async () => {
  const p = scope();
  const big = new Uint8Array(1024 * 1024).fill(65);
  for (let i = 0; i < 3; i++) await rpc.call('KV', 'Put', { key: b(`${p}${i}`), value: big });
  const w = open();
  w.create({ key: b(p), range_end: prefixEnd(p), prev_kv: true, fragment: true, watch_id: 1n });
  w.create({ key: b(p), range_end: prefixEnd(p), prev_kv: true, watch_id: 2n });
  await w.take(2);
  const del = await rpc.call('KV', 'DeleteRange', { key: b(p), range_end: prefixEnd(p) });
  const got = await w.take(4, 10_000);
  const frag = got.filter((r) => r.watch_id === 1n);
  assert.deepEqual(
    frag.map((r) => ({ f: r.fragment, n: r.events.length, rev: r.header!.revision })),
    [
      { f: true, n: 1, rev: del.header!.revision },
      { f: true, n: 1, rev: del.header!.revision },
      { f: false, n: 1, rev: del.header!.revision },
    ],
  );
  assert.deepEqual(frag.flatMap(evs).map((e) => e.slice(0, e.indexOf('+'))), got.find((r) => r.watch_id === 2n)!.events.map((e) => `D:${s(e.kv!.key)}@${del.header!.revision}`));
  const whole = got.find((r) => r.watch_id === 2n)!;
  assert.equal(whole.fragment, false);
  assert.equal(whole.events.length, 3);
  assert.equal(whole.events.every((e) => e.prev_kv?.value.length === big.length), true);
});

function pick(m: { streams: number; syncedWatchers: number; unsyncedWatchers: number }) {
  return { streams: m.streams, syncedWatchers: m.syncedWatchers, unsyncedWatchers: m.unsyncedWatchers };
}

/** Polls `cond` (bounded: 5 s). */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('close() releases every watch timer: the sync pass and the progress tickers', async () => {
  const local = await startServer();
  const c = rawClient(local.endpoint);
  const kv = new RpcClient(local.endpoint);
  try {
    const w = new WatchCall(c);
    w.create({ key: b('k'), range_end: b('l'), progress_notify: true });
    await w.next();
    w.pause(); // a reader that stopped reading: its watcher ends up waiting for catch-up
    const value = new Uint8Array(4096).fill(66);
    for (let i = 0; i < 1000 && watchMetrics(local.serverContext)!.unsyncedWatchers === 0; i++) {
      await kv.call('KV', 'Put', { key: b(`k${i % 5}`), value });
    }
    const m = watchMetrics(local.serverContext)!;
    assert.equal(m.unsyncedWatchers, 1);
    assert.ok(m.timers >= 2, `sync timer and progress ticker running (timers: ${m.timers})`);
    await local.close();
    assert.deepEqual(
      { ...pick(watchMetrics(local.serverContext)!), timers: watchMetrics(local.serverContext)!.timers },
      { streams: 0, syncedWatchers: 0, unsyncedWatchers: 0, timers: 0 },
    );
    w.cancel();
  } finally {
    kv.close();
    c.close();
    await local.close();
  }
});

test('the watchProgressNotifyInterval option sets the progress period (real time, min 100 ms)', async () => {
  const local = await startServer({ watchProgressNotifyInterval: 100 });
  const c = rawClient(local.endpoint);
  try {
    const w = new WatchCall(c);
    w.create({ key: b('k'), progress_notify: true });
    await w.next();
    const p1 = await w.next(5000);
    const p2 = await w.next(5000);
    for (const p of [p1, p2]) {
      assert.deepEqual(
        { id: p.watch_id, rev: p.header!.revision, events: p.events.length, created: p.created },
        { id: 0n, rev: local.revision, events: 0, created: false },
      );
    }
    w.cancel();
  } finally {
    c.close();
    await local.close();
  }
  await assert.rejects(startServer({ watchProgressNotifyInterval: 0 }), /watchProgressNotifyInterval/);
});
