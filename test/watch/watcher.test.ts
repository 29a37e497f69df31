/**
 * The watcher's resume rules and buffer bounds, driven directly with wire responses through
 * a fake host: deterministic checks of what the stream tests can only observe indirectly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KeyValue } from '../../src/index.js';
import type { Event, WatchResponse } from '../../src/protocol/messages.generated.js';
import { parseWatchSpec } from '../../src/watch/spec.js';
import type { WatchOptions } from '../../src/watch/types.js';
import { Watch, watchInternals } from '../../src/watch/watch.js';
import { Watcher } from '../../src/watch/watcher.js';
import type { WatchHost } from '../../src/watch/watcher.js';
import { Collector, take } from './helpers.js';

const enc = (s: string) => Buffer.from(s);

class FakeHost implements WatchHost {
  readonly calls: string[] = [];
  endpoint = '127.0.0.1:1';
  state: { revision: bigint; kvs: KeyValue[] } | undefined;
  attach(w: Watcher): void {
    this.calls.push(`attach ${w.state}`);
  }
  release(w: Watcher): void {
    this.calls.push(`release ${w.id}`);
    w.id = 0;
  }
  remove(): Promise<void> {
    this.calls.push('remove');
    return Promise.resolve();
  }
  requestProgress(): void {
    this.calls.push('progress');
  }
  readState(): Promise<{ revision: bigint; kvs: KeyValue[] }> {
    return this.state === undefined ? new Promise(() => {}) : Promise.resolve(this.state);
  }
}

function setup(options: WatchOptions = {}) {
  const host = new FakeHost();
  const watcher = new Watcher(host, parseWatchSpec('k', options));
  const watch = new Watch(watcher);
  watcher.start();
  return { host, watcher, watch };
}

function put(revision: number, key = 'k'): Event {
  return {
    type: 0,
    kv: { key: enc(key), value: enc(`v${revision}`), create_revision: 1n, mod_revision: BigInt(revision), version: 1n, lease: 0n },
  };
}

function response(watchId: number, init: Partial<WatchResponse> & { revision?: number } = {}): WatchResponse {
  const { revision, ...rest } = init;
  return {
    header: { cluster_id: 1n, member_id: 1n, revision: BigInt(revision ?? 0), raft_term: 1n },
    watch_id: BigInt(watchId),
    created: false,
    canceled: false,
    compact_revision: 0n,
    cancel_reason: '',
    fragment: false,
    events: [],
    ...rest,
  };
}

/** Creates the watcher as the manager would: create request with `id`, then `created` at `revision`. */
function create(watcher: Watcher, id: number, revision: number): bigint {
  const request = watcher.createRequest(id);
  watcher.onCreated(BigInt(revision));
  return request.start_revision!;
}

const revisionsOf = (c: Collector) => c.events.map((e) => Number(e.revision));

describe('watcher resume rules', () => {
  it('a watch from now resumes after the created header, never from a later header', () => {
    const { watcher, watch } = setup();
    const seen = new Collector(watch);
    assert.equal(create(watcher, 1, 10), 0n);
    // A catch-up style response: header far ahead of its events.
    watcher.onResponse(response(1, { revision: 100, events: [put(11), put(12)] }));
    assert.deepEqual(revisionsOf(seen), [11, 12]);
    watcher.onDisconnected(new Error('gone') as never);
    assert.equal(watcher.createRequest(2).start_revision, 13n);
  });

  it('without events, a disconnected watch from now resumes at created header + 1', () => {
    const { watcher } = setup();
    create(watcher, 1, 10);
    watcher.onDisconnected(new Error('gone') as never);
    assert.equal(watcher.createRequest(2).start_revision, 11n);
  });

  it('keeps an explicit start revision until something is delivered', () => {
    const { watcher } = setup({ startRevision: 5 });
    assert.equal(create(watcher, 1, 50), 5n);
    watcher.onDisconnected(new Error('gone') as never);
    assert.equal(watcher.createRequest(2).start_revision, 5n);
  });

  it('drops events already delivered, and keeps revisions whole', () => {
    const { watcher, watch } = setup({ startRevision: 5 });
    const seen = new Collector(watch);
    create(watcher, 1, 50);
    watcher.onResponse(response(1, { events: [put(5), put(6, 'k2'), put(6, 'k3')] }));
    watcher.onDisconnected(new Error('gone') as never);
    assert.equal(create(watcher, 2, 50), 7n);
    watcher.onResponse(response(2, { events: [put(6), put(7)] }));
    watcher.onResponse(response(2, { events: [put(7)] }));
    assert.deepEqual(revisionsOf(seen), [5, 6, 6, 7]);
  });

  it('a per-watcher progress notification moves the resume point; a stream-wide answer does not', () => {
    const { watcher, watch, host } = setup();
    const seen = new Collector(watch);
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { revision: 20 }));
    assert.deepEqual(seen.items, [{ type: 'progress', revision: 20n }]);
    assert.equal(watch.lastRevision, 20n);
    watch.requestProgress();
    assert.equal(host.calls.at(-1), 'progress');
    watcher.onProgressAnswer(30n);
    assert.deepEqual(seen.items.at(-1), { type: 'progress', revision: 30n });
    watcher.onDisconnected(new Error('gone') as never);
    assert.equal(watcher.createRequest(2).start_revision, 21n);
  });

  it('reassembles fragments into one delivery', () => {
    const { watcher, watch } = setup();
    const seen = new Collector(watch);
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { fragment: true, events: [put(11, 'a')] }));
    assert.equal(seen.events.length, 0);
    watcher.onResponse(response(1, { events: [put(11, 'b')] }));
    assert.deepEqual(seen.events.map((e) => e.kv.keyText), ['a', 'b']);
  });

  it('a compaction under the error policy ends the watch after the compacted item', async () => {
    const { watcher, watch } = setup({ startRevision: 3 });
    const iterator = watch[Symbol.asyncIterator]();
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { canceled: true, compact_revision: 8n }));
    assert.deepEqual(await take(iterator, 1), [{ type: 'compacted', compactRevision: 8n }]);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  it('a compaction under the resync policy reads the range and resumes after it', async () => {
    const { watcher, watch, host } = setup({ startRevision: 3, onCompacted: 'resync' });
    host.state = { revision: 40n, kvs: [] };
    const seen = new Collector(watch);
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { canceled: true, compact_revision: 8n }));
    await seen.waitFor((i) => i.type === 'resync', 'resync');
    assert.deepEqual(seen.items, [
      { type: 'compacted', compactRevision: 8n },
      { type: 'resync', revision: 40n, kvs: [] },
    ]);
    assert.deepEqual(host.calls.slice(-2), ['release 1', 'attach pending']);
    assert.equal(watcher.createRequest(2).start_revision, 41n);
  });
});

describe('watcher buffer bound', () => {
  it('pauses before exceeding bufferSize, resumes from the first revision it did not take', async () => {
    const { watcher, watch, host } = setup({ bufferSize: 3 });
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { events: [put(11), put(12)] }));
    watcher.onResponse(response(1, { events: [put(13), put(14), put(15)] }));
    assert.equal(watchInternals(watch).queued, 3);
    assert.equal(watchInternals(watch).state, 'paused');
    assert.deepEqual(host.calls.slice(-1), ['release 1']);
    const iterator = watch[Symbol.asyncIterator]();
    const items = await take(iterator, 3);
    assert.deepEqual(items.map((i) => (i as { revision: bigint }).revision), [11n, 12n, 13n]);
    assert.equal(host.calls.at(-1), 'attach pending');
    assert.equal(watcher.createRequest(2).start_revision, 14n);
    assert.equal(watchInternals(watch).maxQueued, 3);
  });

  it('delivers one revision larger than the buffer whole when the buffer is empty', () => {
    const { watcher, watch } = setup({ bufferSize: 2 });
    create(watcher, 1, 10);
    watcher.onResponse(response(1, { events: [put(11, 'a'), put(11, 'b'), put(11, 'c')] }));
    assert.equal(watchInternals(watch).queued, 3);
    watcher.onResponse(response(1, { events: [put(12)] }));
    assert.equal(watchInternals(watch).queued, 3);
    assert.equal(watchInternals(watch).state, 'paused');
    assert.equal(watcher.createRequest(2).start_revision, 12n);
  });

  it('listener-only consumers are never paused', () => {
    const { watcher, watch } = setup({ bufferSize: 1 });
    const seen = new Collector(watch);
    create(watcher, 1, 10);
    for (let r = 11; r < 20; r++) watcher.onResponse(response(1, { events: [put(r)] }));
    assert.equal(seen.events.length, 9);
    assert.equal(watchInternals(watch).state, 'active');
    assert.equal(watchInternals(watch).queued, 0);
  });
});
