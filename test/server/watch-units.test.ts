/**
 * Unit tests of the Watch service's pure parts: create-request checks, ID assignment, the
 * progress interval, catch-up batching, fragmenting, and the outbox's ordering/backpressure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/protocol/codec.js';
import { etcdErrors, watchCancelReasons } from '../../src/protocol/error-table.js';
import type { Init, WatchCreateRequest, WatchResponse } from '../../src/protocol/messages.generated.js';
import type { RevisionRecord, StoreEvent } from '../../src/server/mvcc/event-log.js';
import { tombstone } from '../../src/server/mvcc/key-value.js';
import { readCatchUp } from '../../src/server/watch/catch-up.js';
import { checkCreateRequest, type WatchSpec } from '../../src/server/watch/create-request.js';
import { fragmentResponse } from '../../src/server/watch/fragment.js';
import { WatchCounters } from '../../src/server/watch/metrics.js';
import { Outbox } from '../../src/server/watch/outbox.js';
import { progressInterval } from '../../src/server/watch/progress-interval.js';
import { WatchIds } from '../../src/server/watch/watch-ids.js';
import { Watcher, type WatchOutput } from '../../src/server/watch/watcher.js';
import { b } from './rpc-client.js';

function createRequest(init: Partial<WatchCreateRequest>): WatchCreateRequest {
  return {
    key: new Uint8Array(0),
    range_end: new Uint8Array(0),
    start_revision: 0n,
    progress_notify: false,
    filters: [],
    prev_kv: false,
    watch_id: 0n,
    fragment: false,
    ...init,
  };
}

function spec(req: Partial<WatchCreateRequest>): WatchSpec {
  const c = checkCreateRequest(createRequest(req));
  assert.ok(c.ok);
  return c.spec;
}

const nullOutput: WatchOutput = { backlog: 0, blocked: false, sendEvents() {}, sendCompacted() {}, fail() {} };

function put(key: string, rev: bigint, create = rev, version = 1n): StoreEvent {
  return {
    type: 'put',
    kv: { key: b(key), create_revision: create, mod_revision: rev, version, value: b(`v${rev}`), lease: 0n },
    prevKv: undefined,
  };
}

test('create checks: key forms, empty range, negative start revision, filters', () => {
  const empty = checkCreateRequest(createRequest({}));
  assert.ok(empty.ok);
  assert.deepEqual(empty.spec.span, { start: '\0', end: null, single: true });
  const fromKey = spec({ key: b('a'), range_end: new Uint8Array([0]) });
  assert.deepEqual(fromKey.span, { start: 'a', end: null, single: false });
  const range = spec({ key: b('a'), range_end: b('b'), filters: [0, 1], prev_kv: true, watch_id: 9n });
  assert.deepEqual(
    [range.span, range.noPut, range.noDelete, range.prevKv, range.requestedId],
    [{ start: 'a', end: 'b', single: false }, true, true, true, 9n],
  );
  for (const [key, end] of [['b', 'a'], ['a', 'a']] as const) {
    assert.deepEqual(checkCreateRequest(createRequest({ key: b(key), range_end: b(end) })), {
      ok: false,
      reason: watchCancelReasons.emptyRange,
    });
  }
  // bytewise order, not UTF-16 order
  assert.ok(checkCreateRequest(createRequest({ key: new Uint8Array([0x7f]), range_end: new Uint8Array([0xc3]) })).ok);
  assert.deepEqual(checkCreateRequest(createRequest({ start_revision: -1n })), {
    ok: false,
    reason: etcdErrors.compacted.message,
  });
});

test('watch IDs: automatic from 0 skipping IDs in use; client-chosen unless in use', () => {
  const ids = new WatchIds();
  const used = new Set<bigint>([1n, 2n]);
  const inUse = (id: bigint) => used.has(id);
  assert.equal(ids.assign(0n, inUse), 0n);
  assert.equal(ids.assign(0n, inUse), 3n);
  assert.equal(ids.assign(7n, inUse), 7n);
  assert.equal(ids.assign(1n, inUse), undefined);
  used.clear();
  assert.equal(ids.assign(0n, inUse), 4n, 'a counter: freed IDs are not reused automatically');
});

test('progress interval: default 10 min, at least 100 ms, jitter below 10 %', () => {
  assert.equal(progressInterval(undefined, () => 0), 600_000);
  assert.equal(progressInterval(undefined, () => 0.999), 600_000 + 59_940);
  assert.equal(progressInterval(5, () => 0), 100);
  assert.equal(progressInterval(1000, () => 0.5), 1050);
});

test('catch-up: whole revisions, at most 1000 per batch, only the watcher range', () => {
  const records: RevisionRecord[] = [];
  for (let rev = 2n; rev <= 2600n; rev++) {
    // every revision touches "in/*" twice, odd ones also "out"
    const events = [put(`in/${rev % 5n}`, rev), put(`in/x${rev % 3n}`, rev)];
    if (rev % 2n === 1n) events.push(put('out', rev));
    records.push({ revision: rev, events });
  }
  const history = {
    recordsFrom(revision: bigint, max = Infinity) {
      const i = records.findIndex((r) => r.revision >= revision);
      return i < 0 ? [] : records.slice(i, Number.isFinite(max) ? i + max : undefined);
    },
  };
  const w = new Watcher(0n, spec({ key: b('in/'), range_end: b('in0'), start_revision: 2n }), nullOutput);
  const sizes: number[] = [];
  let expect = 2n;
  for (let i = 0; i < 10 && w.nextRev <= 2600n; i++) {
    const batch = readCatchUp(history, w, 2600n);
    const revs = new Set(batch.events.map((e) => e.kv.mod_revision));
    sizes.push(revs.size);
    for (const r of revs) assert.equal(r, expect++);
    assert.equal(batch.events.length, revs.size * 2, 'no revision split');
    w.nextRev = batch.nextRev;
  }
  assert.deepEqual(sizes, [1000, 1000, 599]);
  assert.equal(w.nextRev, 2601n);
});

test('watcher wire events: filters, and prev_kv only on non-creates still above the compaction', () => {
  const prev = put('k', 5n).kv;
  const update: StoreEvent = { ...put('k', 7n, 5n, 2n), prevKv: prev };
  const del: StoreEvent = { type: 'delete', kv: tombstone(b('k'), 8n), prevKv: update.kv };
  const create = put('k', 9n);
  const all = new Watcher(0n, spec({ key: b('k'), prev_kv: true }), nullOutput);
  const shape = (evs: ReturnType<Watcher['toWire']>) => evs.map((e) => [e.type, e.kv!.mod_revision, e.prev_kv?.mod_revision]);
  assert.deepEqual(shape(all.toWire([update, del, create], -1n)), [[0, 7n, 5n], [1, 8n, 7n], [0, 9n, undefined]]);
  // compacted at 7: the update's previous version (read at 6) is gone, the delete's (at 7) is not
  assert.deepEqual(shape(all.toWire([update, del], 7n)), [[0, 7n, undefined], [1, 8n, 7n]]);
  const noPut = new Watcher(1n, spec({ key: b('k'), filters: [0] }), nullOutput);
  assert.deepEqual(shape(noPut.toWire([update, del, create], -1n)), [[1, 8n, undefined]]);
  const noDelete = new Watcher(2n, spec({ key: b('k'), filters: [1] }), nullOutput);
  assert.deepEqual(shape(noDelete.toWire([del], -1n)), []);
});

test('fragment: pieces below the limit (one event at least), all sharing header and ID', () => {
  const value = new Uint8Array(1000).fill(1);
  const events = Array.from({ length: 10 }, (_, i) => ({
    type: 0 as const,
    kv: { key: b(`k${i}`), mod_revision: 5n, create_revision: 5n, version: 1n, value },
  }));
  const resp: Init<WatchResponse> = { header: { revision: 5n, cluster_id: 1n }, watch_id: 3n, events };
  assert.deepEqual(fragmentResponse(resp, 1_000_000), [resp], 'small responses are kept whole');
  const one = encode('etcdserverpb.WatchResponse', { ...resp, events: events.slice(0, 1) }).length;
  const pieces = fragmentResponse(resp, 3500);
  assert.ok(one < 3500);
  assert.deepEqual(pieces.map((p) => p.events!.length), [3, 3, 3, 1]);
  assert.deepEqual(pieces.map((p) => p.fragment), [true, true, true, false]);
  for (const p of pieces) {
    const bytes = encode('etcdserverpb.WatchResponse', p);
    assert.ok(bytes.length < 3500, `piece of ${bytes.length} bytes`);
    const back = decode('etcdserverpb.WatchResponse', bytes);
    assert.equal(back.watch_id, 3n);
    assert.equal(back.header!.revision, 5n);
  }
  assert.deepEqual(pieces.flatMap((p) => p.events!.map((e) => e.kv!.key)), events.map((e) => e.kv.key));
  // a single event over the limit is sent alone
  assert.deepEqual(fragmentResponse(resp, 10).map((p) => p.events!.length), Array(10).fill(1));
});

test('outbox: in order, holds back while gRPC pushes back, withdraws a cancelled watcher', () => {
  const counters = new WatchCounters();
  const written: bigint[] = [];
  let accept = 2;
  const box = new Outbox((msg) => {
    written.push(msg.watch_id!);
    return --accept > 0;
  }, counters);
  const owner = {};
  for (let i = 1n; i <= 5n; i++) box.push({ watch_id: i }, i % 2n === 0n ? owner : undefined);
  assert.deepEqual(written, [1n, 2n]);
  assert.equal(box.blocked, true);
  assert.equal(box.backlog, 3);
  assert.equal(counters.pendingResponses, 3);
  box.withdraw(owner); // drops 4
  assert.equal(box.backlog, 2);
  accept = 10;
  box.drained();
  assert.deepEqual(written, [1n, 2n, 3n, 5n]);
  assert.equal(box.backlog, 0);
  assert.equal(box.blocked, false);
  assert.equal(counters.pendingResponses, 0);
  assert.equal(counters.peakPendingResponses, 3);
  box.close();
  box.push({ watch_id: 9n });
  assert.deepEqual(written, [1n, 2n, 3n, 5n], 'nothing after close');
});
