import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CancelledError,
  Client,
  ClientClosedError,
  CompactedError,
  DeadlineExceededError,
  InvalidArgumentError,
  LeaderChangedError,
  NoLeaderError,
  RequestTimedOutError,
  UnavailableError,
} from '../../src/index.js';
import { freePort } from '../harness/ports.js';
import { startFakeKv } from './fake-kv.js';
import type { FakeKv, Reply } from './fake-kv.js';

const kv1 = { ok: { kvs: [{ key: Buffer.from('k'), value: Buffer.from('v'), create_revision: 2n, mod_revision: 3n, version: 2n }], count: 1n } };
const fakes: FakeKv[] = [];
const clients: Client[] = [];

async function fake(script: (method: string, n: number) => Reply): Promise<FakeKv> {
  const server = await startFakeKv(script);
  fakes.push(server);
  return server;
}

function client(endpoints: string[], extra: { dialTimeoutMs?: number; timeoutMs?: number } = {}): Client {
  const c = new Client({ endpoints, dialTimeoutMs: 2000, timeoutMs: 5000, ...extra });
  clients.push(c);
  return c;
}

after(async () => {
  for (const c of clients) await c.close();
  for (const f of fakes) await f.close();
});

describe('retries', { timeout: 20_000 }, () => {
  it('a read is retried after transient UNAVAILABLE etcd errors', async () => {
    const server = await fake((_m, n) => (n === 1 ? { fail: 'leaderChanged' } : n === 2 ? { fail: 'noLeader' } : kv1));
    const result = await client([server.endpoint]).kv.get('k');
    assert.equal(result.kvs[0]!.valueText, 'v');
    assert.equal(server.calls.Range, 3);
  });

  it('a read is not retried after a final error', async () => {
    const server = await fake(() => ({ fail: 'compacted' }));
    await assert.rejects(client([server.endpoint]).kv.get('k', { revision: 1 }), CompactedError);
    assert.equal(server.calls.Range, 1);
  });

  it('read retries stop at the deadline with the last error', async () => {
    const server = await fake(() => ({ fail: 'leaderChanged' }));
    await assert.rejects(client([server.endpoint]).kv.get('k', { timeoutMs: 300 }), (e: unknown) => {
      assert.ok(e instanceof LeaderChangedError || e instanceof DeadlineExceededError, String(e));
      return true;
    });
    assert.ok(server.calls.Range! >= 2, `retried (${server.calls.Range} calls)`);
  });

  it('a write whose outcome is unknown is never retried', async () => {
    const server = await fake(() => ({ fail: 'timeout' }));
    await assert.rejects(client([server.endpoint]).kv.put('k', 'v'), (e: unknown) => {
      assert.ok(e instanceof RequestTimedOutError);
      assert.equal(e.retryable, false);
      assert.equal(e.mayHaveBeenApplied, true);
      assert.equal(e.endpoint, server.endpoint);
      return true;
    });
    assert.equal(server.calls.Put, 1);
  });

  it('a write refused before apply is not retried automatically but is marked retryable', async () => {
    const server = await fake(() => ({ fail: 'noLeader' }));
    await assert.rejects(client([server.endpoint]).kv.txn().commit(), (e: unknown) => {
      assert.ok(e instanceof NoLeaderError);
      assert.equal(e.retryable, true);
      assert.equal(e.mayHaveBeenApplied, false);
      return true;
    });
    assert.equal(server.calls.Txn, 1);
  });
});

describe('endpoints', { timeout: 20_000 }, () => {
  it('spreads calls round-robin over ready endpoints', async () => {
    const a = await fake(() => kv1);
    const b = await fake(() => kv1);
    const c = client([a.endpoint, b.endpoint]);
    // Connect both first so the spread does not depend on which connects first.
    await Promise.all([c.kv.get('k'), c.kv.get('k')]);
    for (let i = 0; i < 20 && (a.calls.Range === undefined || b.calls.Range === undefined); i++) await c.kv.get('k');
    const before = { a: a.calls.Range ?? 0, b: b.calls.Range ?? 0 };
    for (let i = 0; i < 10; i++) await c.kv.get('k');
    assert.equal((a.calls.Range ?? 0) - before.a, 5);
    assert.equal((b.calls.Range ?? 0) - before.b, 5);
  });

  it('skips an endpoint with nothing listening', async () => {
    const live = await fake(() => kv1);
    const c = client([`127.0.0.1:${await freePort()}`, live.endpoint]);
    for (let i = 0; i < 5; i++) assert.equal((await c.kv.get('k')).count, 1n);
    await c.kv.put('k', 'v');
    assert.equal(live.calls.Range, 5);
    assert.equal(live.calls.Put, 1);
  });

  it('with nothing listening, fails after the dial timeout with an error naming the endpoint', async () => {
    const endpoint = `127.0.0.1:${await freePort()}`;
    const c = client([endpoint], { dialTimeoutMs: 200, timeoutMs: 600_000 });
    await assert.rejects(c.kv.put('k', 'v'), (e: unknown) => {
      assert.ok(e instanceof UnavailableError, String(e));
      assert.ok(e.message.includes(endpoint), e.message);
      assert.match(e.message, /within 200 ms/);
      assert.equal(e.retryable, true, 'nothing was sent');
      assert.equal(e.mayHaveBeenApplied, false);
      return true;
    });
  });

  it('a call deadline shorter than the dial timeout ends as DeadlineExceededError', async () => {
    const c = client([`127.0.0.1:${await freePort()}`], { dialTimeoutMs: 60_000 });
    await assert.rejects(c.kv.get('k', { timeoutMs: 100 }), DeadlineExceededError);
  });
});

describe('deadlines and abort', { timeout: 20_000 }, () => {
  let server: FakeKv;
  let c: Client;
  before(async () => {
    server = await fake((method) => (method === 'Compact' ? kv1 : 'hang'));
    c = client([server.endpoint]);
    await c.kv.compact(1); // connect
  });

  it('a read past its deadline is DeadlineExceededError and retryable', async () => {
    await assert.rejects(c.kv.get('k', { timeoutMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof DeadlineExceededError, String(e));
      assert.equal(e.retryable, true);
      assert.equal(e.mayHaveBeenApplied, false);
      return true;
    });
  });

  it('a write past its deadline may have been applied', async () => {
    await assert.rejects(c.kv.put('k', 'v', { timeoutMs: 50 }), (e: unknown) => {
      assert.ok(e instanceof DeadlineExceededError, String(e));
      assert.equal(e.retryable, false);
      assert.equal(e.mayHaveBeenApplied, true);
      return true;
    });
  });

  it('aborting a call in flight rejects with CancelledError carrying the reason', async () => {
    const controller = new AbortController();
    const pending = c.kv.put('k', 'v', { signal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof CancelledError, String(e));
      assert.equal(e.cause, reason);
      assert.equal(e.mayHaveBeenApplied, true);
      return true;
    });
  });

  it('an already aborted signal sends nothing', async () => {
    const before = server.calls.Range ?? 0;
    await assert.rejects(c.kv.get('k', { signal: AbortSignal.abort() }), CancelledError);
    assert.equal(server.calls.Range ?? 0, before);
  });

  it('rejects a bad per-call timeout', async () => {
    await assert.rejects(c.kv.get('k', { timeoutMs: -1 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.timeoutMs');
    await assert.rejects(c.kv.get('k', { signal: 'x' as unknown as AbortSignal }), InvalidArgumentError);
  });
});

describe('close during a retry loop', { timeout: 20_000 }, () => {
  it('ends the loop with ClientClosedError', async () => {
    const server = await fake(() => ({ fail: 'leaderChanged' }));
    const c = new Client({ endpoints: [server.endpoint], timeoutMs: 60_000 });
    const pending = assert.rejects(c.kv.get('k'), ClientClosedError);
    for (let i = 0; i < 200 && (server.calls.Range ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok((server.calls.Range ?? 0) >= 2, 'the read was being retried');
    await c.close();
    await pending;
  });
});

describe('reconnecting', { timeout: 30_000 }, () => {
  it('a call waiting for a connection succeeds once the server comes up within the dial timeout', async () => {
    const port = await freePort();
    const c = client([`127.0.0.1:${port}`], { dialTimeoutMs: 20_000, timeoutMs: 25_000 });
    const pending = c.kv.get('k');
    // Let the first connection attempts fail (and grpc-js back off) before the server starts.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const server = await startFakeKv(() => kv1, port);
    fakes.push(server);
    assert.equal((await pending).count, 1n);
  });

  it('after the server restarts on the same port, the next call reconnects', async () => {
    const first = await fake(() => kv1);
    const port = Number(first.endpoint.split(':')[1]);
    const c = client([first.endpoint], { dialTimeoutMs: 20_000 });
    assert.equal((await c.kv.get('k')).count, 1n);
    await first.close();
    const second = await startFakeKv(() => kv1, port);
    fakes.push(second);
    assert.equal((await c.kv.get('k')).count, 1n);
    assert.equal(second.calls.Range, 1);
  });
});
