/**
 * Mutex against the bundled server and real etcd 3.4.23: Go's key layout, FIFO waiters,
 * tryLock, fenced unlock (a stale holder never releases a newer one), cleanup of queued keys
 * after abort / timeout / session loss, and the held lock's signal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CancelledError,
  Compare,
  DeadlineExceededError,
  InvalidArgumentError,
  LockedError,
  LockLostError,
  Mutex,
  Op,
  SessionExpiredError,
  withLock,
} from '../../src/index.js';
import type { HeldLock } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { keysUnder, newSession, sleep, track, until, within } from './helpers.js';

forEachServer('Mutex', (ctx) => {
  const lockName = () => `${ctx.prefix()}lock`;

  describe('acquire and release', { concurrency: true }, () => {
    it('puts <prefix>/<lease hex> with an empty value on the session lease, and unlock deletes it', async () => {
      const { client } = ctx;
      const name = lockName();
      const session = await newSession(client);
      try {
        const mutex = new Mutex(session, name);
        const lock = await mutex.lock();
        assert.equal(lock.keyText, `${name}/${session.leaseId.toString(16)}`);
        const { kvs } = await client.kv.get(lock.key);
        assert.equal(kvs.length, 1);
        assert.equal(kvs[0]!.value.length, 0);
        assert.equal(kvs[0]!.lease, session.leaseId);
        assert.equal(kvs[0]!.createRevision, lock.fencingToken);
        assert.equal(lock.held, true);
        assert.equal(await lock.isOwner(), true);
        assert.equal(mutex.held, lock);
        await lock.unlock();
        assert.equal(lock.held, false);
        assert.equal(lock.signal.aborted, true);
        assert.ok(lock.signal.reason instanceof LockLostError);
        assert.equal((lock.signal.reason as LockLostError).reason, 'released');
        assert.deepEqual(await keysUnder(client, name), []);
        assert.equal(await lock.isOwner(), false);
        await lock.unlock(); // idempotent
      } finally {
        await session.close();
      }
    });

    it('rejects bad arguments with InvalidArgumentError naming them', async () => {
      const session = await newSession(ctx.client);
      try {
        assert.throws(() => new Mutex(session, ''), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'prefix');
        assert.throws(() => new Mutex({} as never, 'x'), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'session');
        const mutex = new Mutex(session, lockName());
        await assert.rejects(mutex.lock({ timeoutMs: -1 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.timeoutMs');
        await assert.rejects(mutex.lock({ timeout: 5 } as never), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.timeout');
        await assert.rejects(mutex.lock({ signal: 'x' } as never), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.signal');
      } finally {
        await session.close();
      }
    });

    it('fences writes with ownerCompare(): they fail once the lock is released', async () => {
      const { client } = ctx;
      const name = lockName();
      const data = `${name}-data`;
      const session = await newSession(client);
      try {
        const lock = await new Mutex(session, name).lock();
        const ok = await client.kv.txn().if(lock.ownerCompare()).then(Op.put(data, 'a')).commit();
        assert.equal(ok.succeeded, true);
        await lock.unlock();
        const stale = await client.kv.txn().if(lock.isOwnerCompare()).then(Op.put(data, 'b')).commit();
        assert.equal(stale.succeeded, false);
        assert.equal((await client.kv.get(data)).kvs[0]!.valueText, 'a');
      } finally {
        await session.close();
      }
    });
  });

  describe('waiting', { concurrency: true }, () => {
    it('serves waiters in FIFO order, each waking only when its predecessor is gone', { timeout: 30_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const sessions = await Promise.all(Array.from({ length: 5 }, () => newSession(client)));
      try {
        const first = await new Mutex(sessions[0]!, name).lock();
        const order: number[] = [];
        const waits: Array<Promise<HeldLock>> = [];
        for (let i = 1; i < sessions.length; i++) {
          const wait = new Mutex(sessions[i]!, name).lock({ timeoutMs: 20_000 });
          waits.push(
            wait.then((held) => {
              order.push(i);
              return held;
            }),
          );
          // Queue them one after the other, so the queue order is known.
          await until(async () => (await keysUnder(client, name)).length === i + 1, `waiter ${i} queued`);
        }
        await sleep(100);
        assert.deepEqual(order, [], 'nobody acquires while the first holds');
        await first.unlock();
        const tokens: bigint[] = [first.fencingToken];
        for (let i = 0; i < waits.length; i++) {
          const held = await within(waits[i]!, 10_000, `waiter ${i + 1}`);
          await sleep(20);
          assert.deepEqual(order, Array.from({ length: i + 1 }, (_v, k) => k + 1), 'one at a time, in queue order');
          tokens.push(held.fencingToken);
          await held.unlock();
        }
        for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i]! > tokens[i - 1]!, 'fencing tokens grow');
        assert.deepEqual(await keysUnder(client, name), []);
      } finally {
        await Promise.all(sessions.map((s) => s.close()));
      }
    });

    it('tryLock: undefined (and no leftover key) while held; the lock when free; lockNow throws LockedError', async () => {
      const { client } = ctx;
      const name = lockName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const held = await new Mutex(a, name).lock();
        const other = new Mutex(b, name);
        assert.equal(await other.tryLock(), undefined);
        assert.deepEqual(await keysUnder(client, name), [held.keyText], 'tryLock removed its key');
        await assert.rejects(other.lockNow(), (e: unknown) => {
          assert.ok(e instanceof LockedError);
          assert.equal(e.ownerRevision, held.fencingToken);
          return true;
        });
        assert.deepEqual(await keysUnder(client, name), [held.keyText]);
        await held.unlock();
        const mine = await other.tryLock();
        assert.ok(mine !== undefined);
        assert.equal(await mine.isOwner(), true);
        await mine.unlock();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('abort and timeout stop the wait with typed errors and delete the queued key', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const held = await new Mutex(a, name).lock();
        const waiter = new Mutex(b, name);
        const controller = new AbortController();
        const aborted = track(waiter.lock({ signal: controller.signal }));
        await until(async () => (await keysUnder(client, name)).length === 2, 'waiter queued');
        controller.abort(new Error('changed my mind'));
        await assert.rejects(aborted.promise, (e: unknown) => e instanceof CancelledError && (e.cause as Error).message === 'changed my mind');
        assert.deepEqual(await keysUnder(client, name), [held.keyText], 'the aborted waiter removed its key');

        await assert.rejects(waiter.lock({ timeoutMs: 300 }), DeadlineExceededError);
        assert.deepEqual(await keysUnder(client, name), [held.keyText], 'the timed-out waiter removed its key');

        await assert.rejects(waiter.lock({ signal: AbortSignal.abort() }), CancelledError);
        assert.equal(held.held, true);
        await held.unlock();
        const next = await waiter.lock({ timeoutMs: 5000 });
        await next.unlock();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('a waiter whose session ends stops with SessionExpiredError', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const held = await new Mutex(a, name).lock();
        const waiting = track(new Mutex(b, name).lock());
        await until(async () => (await keysUnder(client, name)).length === 2, 'waiter queued');
        await b.close();
        await assert.rejects(within(waiting.promise, 5000, 'waiter'), SessionExpiredError);
        assert.deepEqual(await keysUnder(client, name), [held.keyText]);
        await assert.rejects(new Mutex(b, name).lock(), SessionExpiredError);
        await held.unlock();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('a waiter whose key is deleted by someone else stops with SessionExpiredError (cause: key-deleted)', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const held = await new Mutex(a, name).lock();
        const waiter = new Mutex(b, name);
        const waiting = track(waiter.lock());
        await until(async () => (await keysUnder(client, name)).length === 2, 'waiter queued');
        await client.kv.delete(waiter.key);
        await assert.rejects(within(waiting.promise, 5000, 'waiter'), (e: unknown) => {
          assert.ok(e instanceof SessionExpiredError);
          assert.ok(e.cause instanceof LockLostError && e.cause.reason === 'key-deleted');
          return true;
        });
        assert.equal(held.held, true);
        await held.unlock();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  describe('losing a held lock', { concurrency: true }, () => {
    it('signal fires at once when the session ends, and when the key is deleted by someone else', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const first = await new Mutex(a, lockName()).lock();
        const events: string[] = [];
        first.on('lost', (e) => events.push(e.reason));
        a.orphan();
        assert.equal(first.signal.aborted, true, 'synchronously with the session');
        assert.equal((first.signal.reason as LockLostError).reason, 'session-ended');
        await sleep(0);
        assert.deepEqual(events, ['session-ended']);

        const second = await new Mutex(b, lockName()).lock();
        const lost = await within(
          (async () => {
            await client.kv.delete(second.key);
            return second.lost;
          })(),
          5000,
          'loss on delete',
        );
        assert.equal(lost.reason, 'key-deleted');
        assert.equal(second.held, false);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('a stale unlock (after its session expired and another took the lock) does not release the new holder', { timeout: 30_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const stale = await newSession(client, 2);
      const fresh = await newSession(client, 10);
      try {
        const old = await new Mutex(stale, name).lock();
        const waiting = track(new Mutex(fresh, name).lock({ timeoutMs: 15_000 }));
        await until(async () => (await keysUnder(client, name)).length === 2, 'waiter queued');
        stale.orphan(); // renewals stop: the lease expires on the server within its TTL
        const current = await within(waiting.promise, 10_000, 'the new holder');
        assert.ok(current.fencingToken > old.fencingToken);
        await old.unlock();
        assert.equal(await current.isOwner(), true, 'the new holder still holds the lock');
        assert.deepEqual(await keysUnder(client, name), [current.keyText]);
        await current.unlock();
      } finally {
        await Promise.all([stale.close(), fresh.close()]);
      }
    });

    it('a repeated unlock of an old acquisition of the same session does not release a newer one (etcd #22082)', async () => {
      const { client } = ctx;
      const session = await newSession(client);
      try {
        const mutex = new Mutex(session, lockName());
        const first = await mutex.lock();
        await first.unlock();
        const second = await mutex.lock();
        assert.equal(second.keyText, first.keyText, 'the same key, a new incarnation');
        assert.ok(second.fencingToken > first.fencingToken);
        await first.unlock();
        assert.equal(await second.isOwner(), true);
        assert.equal(second.held, true);
        await second.unlock();
      } finally {
        await session.close();
      }
    });
  });

  describe('one session, one key', { concurrency: true }, () => {
    it('two lock() calls of one session on one prefix exclude each other in-process', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const session = await newSession(client);
      try {
        const first = await new Mutex(session, name).lock();
        const again = new Mutex(session, name);
        assert.equal(await again.tryLock(), undefined, 'tryLock sees the in-process holder');
        const waiting = track(again.lock());
        await sleep(200);
        assert.equal(waiting.settled, false);
        await first.unlock();
        const second = await within(waiting.promise, 5000, 'second');
        assert.ok(second.fencingToken > first.fencingToken);
        await second.unlock();
      } finally {
        await session.close();
      }
    });
  });

  describe('withLock', { concurrency: true }, () => {
    it('runs fn while holding the lock (signal and lock passed) and releases it after', async () => {
      const { client } = ctx;
      const name = lockName();
      const session = await newSession(client);
      try {
        let seen: { held: boolean; aborted: boolean; owner: boolean } | undefined;
        const result = await withLock(session, name, async (signal, lock) => {
          seen = { held: lock.held, aborted: signal.aborted, owner: await lock.isOwner() };
          return 42;
        });
        assert.equal(result, 42);
        assert.deepEqual(seen, { held: true, aborted: false, owner: true });
        assert.deepEqual(await keysUnder(client, name), []);
      } finally {
        await session.close();
      }
    });

    it("fn's signal also aborts when the caller's signal does", async () => {
      const { client } = ctx;
      const name = lockName();
      const session = await newSession(client);
      try {
        const controller = new AbortController();
        const result = await withLock(
          session,
          name,
          (signal, lock) => {
            assert.equal(signal.aborted, false);
            controller.abort();
            return { fnSignal: signal.aborted, lockSignal: lock.signal.aborted };
          },
          { signal: controller.signal },
        );
        assert.deepEqual(result, { fnSignal: true, lockSignal: false });
        assert.deepEqual(await keysUnder(client, name), []);
      } finally {
        await session.close();
      }
    });

    it("releases the lock when fn throws, and rejects with fn's error", async () => {
      const { client } = ctx;
      const name = lockName();
      const session = await newSession(client);
      try {
        await assert.rejects(
          withLock(session, name, () => {
            throw new Error('job failed');
          }),
          /job failed/,
        );
        assert.deepEqual(await keysUnder(client, name), []);
      } finally {
        await session.close();
      }
    });

    it('given a Client, creates a session for the call and revokes it afterwards', async () => {
      const { client } = ctx;
      const name = lockName();
      let leaseId = 0n;
      await withLock(client, name, (_signal, lock) => {
        leaseId = BigInt(`0x${lock.keyText.slice(name.length + 1)}`);
      }, { ttl: 5 });
      assert.equal((await client.lease.timeToLive(leaseId)).ttl, -1n, 'the session lease is gone');
      assert.deepEqual(await keysUnder(client, name), []);
    });

    it('wait: false rejects with LockedError when held; a lock lost during fn rejects with LockLostError', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = lockName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const held = await new Mutex(a, name).lock();
        let ran = false;
        await assert.rejects(withLock(b, name, () => (ran = true), { wait: false }), LockedError);
        assert.equal(ran, false);
        await held.unlock();

        await assert.rejects(
          withLock(b, name, async (signal, lock) => {
            await client.kv.delete(lock.key); // someone else removes the lock under us
            if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            return 'done';
          }),
          (e: unknown) => e instanceof LockLostError && e.reason === 'key-deleted',
        );
        await assert.rejects(withLock(b, name, () => 1, { ttl: 3 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.ttl');
        await assert.rejects(withLock(b, name, 'nope' as never), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'fn');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });

  it('leaves nothing behind: every wait and hold of a closed client ends', { timeout: 20_000 }, async () => {
    const client = clientFor(ctx.server);
    const name = lockName();
    const [a, b] = await Promise.all([newSession(client), newSession(client)]);
    const held = await new Mutex(a, name).lock();
    const waiting = track(new Mutex(b, name).lock());
    await until(async () => (await keysUnder(ctx.client, name)).length === 2, 'waiter queued');
    await client.close();
    await assert.rejects(within(waiting.promise, 5000, 'waiter'), SessionExpiredError);
    assert.equal(held.held, false);
    assert.equal(Compare.createRevision('x', '==', 0) instanceof Compare, true);
  });
});
