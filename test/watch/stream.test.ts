/**
 * The bidi-stream seam (src/balancer/stream.ts): open, messages, exactly-once end with a
 * classified error for each way a stream ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Invoker } from '../../src/balancer/invoker.js';
import type { BidiStream } from '../../src/balancer/stream.js';
import { CancelledError, ClientClosedError, EtcdError, UnavailableError } from '../../src/index.js';
import { parseClientOptions } from '../../src/options.js';
import type { WatchRequest, WatchResponse } from '../../src/protocol/messages.generated.js';
import { startServer } from '../../src/server/index.js';
import type { EtcdServer } from '../../src/server/index.js';
import { freePort } from '../harness/ports.js';

type Stream = BidiStream<WatchRequest, WatchResponse>;

/** Collects a stream's messages and its end(s). */
function record(stream: Stream) {
  const messages: WatchResponse[] = [];
  const ends: EtcdError[] = [];
  let resolveEnd!: (error: EtcdError) => void;
  const ended = new Promise<EtcdError>((resolve) => (resolveEnd = resolve));
  let wake: (() => void) | undefined;
  stream.listen({
    data(message) {
      messages.push(message);
      wake?.();
    },
    end(error) {
      ends.push(error);
      resolveEnd(error);
    },
  });
  const nextMessage = async (count: number) => {
    for (let i = 0; i < 100 && messages.length < count; i++) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    assert.ok(messages.length >= count, `expected ${count} messages, got ${messages.length}`);
  };
  return { messages, ends, ended, nextMessage };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('bidi stream seam', { timeout: 30_000 }, () => {
  let server: EtcdServer;
  const invokers: Invoker[] = [];
  const invoker = (endpoint = server.endpoint, dialTimeoutMs = 3000) => {
    const created = new Invoker(parseClientOptions({ endpoints: [endpoint], dialTimeoutMs }));
    invokers.push(created);
    return created;
  };

  before(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    for (const created of invokers) await created.close();
    await server.close();
  });

  it('carries messages both ways and reports a cancel once, as CancelledError', async () => {
    const stream = await invoker().openStream('Watch', 'Watch', { requireLeader: true });
    assert.equal(stream.endpoint, server.endpoint);
    const seen = record(stream);
    assert.equal(stream.write({ create_request: { key: Buffer.from('a'), watch_id: 7n } }), true);
    await seen.nextMessage(1);
    assert.equal(seen.messages[0]!.created, true);
    assert.equal(seen.messages[0]!.watch_id, 7n);
    stream.cancel();
    stream.cancel();
    assert.ok((await seen.ended) instanceof CancelledError);
    await settle();
    assert.equal(seen.ends.length, 1);
    assert.equal(stream.ended, true);
    assert.equal(stream.write({ progress_request: {} }), false);
  });

  it('reports the server going away as a retryable UnavailableError-class error', async () => {
    const own = await startServer({ host: '127.0.0.1', port: 0 });
    try {
      const stream = await invoker(own.endpoint).openStream('Watch', 'Watch');
      const seen = record(stream);
      stream.write({ create_request: { key: Buffer.from('a') } });
      await seen.nextMessage(1);
      await own.stop();
      const error = await seen.ended;
      assert.ok(error instanceof EtcdError);
      assert.equal(error.retryable, true, `${error.name}: ${error.message}`);
      await settle();
      assert.equal(seen.ends.length, 1);
    } finally {
      await own.close();
    }
  });

  it('reports closing the client as ClientClosedError', async () => {
    const own = invoker();
    const stream = await own.openStream('Watch', 'Watch');
    const seen = record(stream);
    await own.close();
    assert.ok((await seen.ended) instanceof ClientClosedError);
    await assert.rejects(own.openStream('Watch', 'Watch'), ClientClosedError);
  });

  it('cancels through the signal, before and after opening', async () => {
    const controller = new AbortController();
    const stream = await invoker().openStream('Watch', 'Watch', { signal: controller.signal });
    const seen = record(stream);
    controller.abort();
    assert.ok((await seen.ended) instanceof CancelledError);
    await assert.rejects(invoker().openStream('Watch', 'Watch', { signal: controller.signal }), CancelledError);
  });

  it('rejects with UnavailableError when no endpoint connects within the dial timeout', async () => {
    const port = await freePort();
    await assert.rejects(invoker(`127.0.0.1:${port}`, 300).openStream('Watch', 'Watch'), UnavailableError);
  });

  it('prefers an endpoint other than `avoid` when several are ready', async () => {
    const other = await startServer({ host: '127.0.0.1', port: 0 });
    try {
      const own = new Invoker(parseClientOptions({ endpoints: [server.endpoint, other.endpoint] }));
      invokers.push(own);
      // Connect both endpoints first.
      for (const channel of own.pool.channels) channel.connect();
      for (let i = 0; i < 200 && !own.pool.channels.every((c) => c.ready); i++) await settle();
      assert.ok(own.pool.channels.every((c) => c.ready), 'both endpoints connected');
      for (let i = 0; i < 4; i++) {
        for (const avoid of [server.endpoint, other.endpoint]) {
          const stream = await own.openStream('Watch', 'Watch', { avoid });
          assert.notEqual(stream.endpoint, avoid);
          stream.cancel();
        }
      }
    } finally {
      await other.close();
    }
  });

  it('queues messages that arrive before listen()', async () => {
    const stream = await invoker().openStream('Watch', 'Watch');
    stream.write({ create_request: { key: Buffer.from('q'), watch_id: 3n } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = record(stream);
    await seen.nextMessage(1);
    assert.equal(seen.messages[0]!.watch_id, 3n);
    stream.cancel();
    await seen.ended;
  });
  it('sends a burst of writes whole and in order, even before the call is set up', async () => {
    const stream = await invoker().openStream('Watch', 'Watch');
    const seen = record(stream);
    // Written in the same tick as the open: the call is still resolving its configuration.
    for (let id = 1n; id <= 20n; id++) {
      assert.equal(stream.write({ create_request: { key: Buffer.from(`burst/${id}`), watch_id: id } }), true);
    }
    await seen.nextMessage(20);
    assert.deepEqual(
      seen.messages.map((m) => m.watch_id),
      Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
    );
    assert.ok(seen.messages.every((m) => m.created));
    stream.cancel();
    await seen.ended;
  });

  it('half-closes only after the writes queued before end()', async () => {
    const stream = await invoker().openStream('Watch', 'Watch');
    const seen = record(stream);
    for (let id = 1n; id <= 5n; id++) stream.write({ create_request: { key: Buffer.from(`end/${id}`), watch_id: id } });
    stream.end();
    assert.equal(stream.write({ progress_request: {} }), false, 'no write after end()');
    // The bundled server keeps a half-closed Watch stream open, like etcd's watchers stay.
    await seen.nextMessage(5);
    assert.deepEqual(
      seen.messages.map((m) => m.watch_id),
      [1n, 2n, 3n, 4n, 5n],
    );
    stream.cancel();
    assert.ok((await seen.ended) instanceof CancelledError);
  });

  it('ends with a non-retryable error when a request cannot be encoded', async () => {
    const stream = await invoker().openStream('Watch', 'Watch');
    const seen = record(stream);
    const bad = { create_request: { key: 42 } } as unknown as Parameters<Stream['write']>[0];
    assert.equal(stream.write(bad), false);
    const error = await seen.ended;
    assert.ok(error instanceof EtcdError);
    assert.equal(error.retryable, false);
    assert.match(error.message, /encode/);
    await settle();
    assert.equal(seen.ends.length, 1);
  });
});
