/**
 * STM against the bundled server and real etcd 3.4.23: reads, buffered writes and the commit;
 * the conflicts each isolation level detects (and read-committed's lost update); the bank
 * transfer invariant under concurrent workers; aborts by error, signal and retry budget.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  CancelledError,
  InvalidArgumentError,
  runStm,
  StmConflictError,
  ValueDecodeError,
} from '../../src/index.js';
import type { Stm, StmIsolation } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';

const guarded: StmIsolation[] = ['serializable-snapshot', 'serializable', 'repeatable-reads'];

/** Reads an integer balance (missing = 0). */
async function balance(stm: Stm, key: string): Promise<number> {
  return Number((await stm.getText(key)) ?? '0');
}

/** A deterministic pseudo-random generator (so a failure can be replayed). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

forEachServer('STM', (ctx) => {
  describe('reads and writes', () => {
    it('commits buffered writes in one transaction and resolves with the result', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      await client.kv.put(`${p}a`, '1');
      await client.kv.put(`${p}gone`, 'x');
      const result = await runStm(client, async (stm) => {
        assert.equal(await stm.getText(`${p}a`), '1');
        assert.equal(await stm.get(`${p}missing`), undefined);
        stm.put(`${p}a`, '2');
        stm.putJson(`${p}doc`, { n: 1 });
        stm.delete(`${p}gone`);
        // Reads see the attempt's own writes; rev() shows the stored revision.
        assert.equal(await stm.getText(`${p}a`), '2');
        assert.deepEqual(await stm.getJson(`${p}doc`, z.object({ n: z.number() })), { n: 1 });
        assert.equal(await stm.get(`${p}gone`), undefined);
        assert.equal(await stm.rev(`${p}missing`), 0n);
        return 'done';
      });
      assert.equal(result, 'done');
      const { kvs } = await client.kv.get(p, { prefix: true });
      assert.deepEqual(
        kvs.map((kv) => [kv.keyText, kv.valueText]),
        [
          [`${p}a`, '2'],
          [`${p}doc`, '{"n":1}'],
        ],
      );
      assert.equal(kvs[0]!.modRevision, kvs[1]!.modRevision, 'one transaction, one revision');
    });

    it('rev() is the mod revision read; getJson() names the key on bad JSON', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      const put = await client.kv.put(`${p}a`, 'not json');
      await assert.rejects(
        runStm(client, async (stm) => {
          assert.equal(await stm.rev(`${p}a`), put.header.revision);
          await stm.getJson(`${p}a`);
        }),
        (e: unknown) => e instanceof ValueDecodeError && e.message.includes(`${p}a`),
      );
    });

    it('prefetch reads keys before the function runs, into the read set', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      await client.kv.put(`${p}a`, '1');
      const attempts: number[] = [];
      await runStm(
        client,
        async (stm) => {
          attempts.push(stm.attempt);
          // The prefetched key is guarded even though the function never reads it.
          if (stm.attempt === 1) await client.kv.put(`${p}a`, '2');
          stm.put(`${p}b`, 'x');
        },
        { prefetch: [`${p}a`], isolation: 'serializable' },
      );
      assert.deepEqual(attempts, [1, 2]);
    });

    it('rejects bad arguments with InvalidArgumentError naming them', async () => {
      const { client } = ctx;
      const named = (argument: string) => (e: unknown) => e instanceof InvalidArgumentError && e.argument === argument;
      await assert.rejects(runStm({} as never, () => 1), named('client'));
      await assert.rejects(runStm(client, 'x' as never), named('apply'));
      await assert.rejects(runStm(client, () => 1, { isolation: 'snapshot' as never }), named('options.isolation'));
      await assert.rejects(runStm(client, () => 1, { maxRetries: -1 }), named('options.maxRetries'));
      await assert.rejects(runStm(client, () => 1, { retries: 3 } as never), named('options.retries'));
      await assert.rejects(runStm(client, () => 1, { prefetch: [''] }), named('options.prefetch[0]'));
      await assert.rejects(runStm(client, () => 1, { signal: 'x' as never }), named('options.signal'));
      await assert.rejects(runStm(client, (stm) => stm.put('', 'v')), named('key'));
      await assert.rejects(runStm(client, (stm) => stm.put('k', 'v', { prevKv: true } as never)), named('options.prevKv'));
      await assert.rejects(runStm(client, (stm) => stm.get('')), named('key'));
      // An stm kept past its attempt refuses to be used.
      let kept: Stm | undefined;
      await runStm(client, (stm) => {
        kept = stm;
      });
      assert.throws(() => kept!.put('k', 'v'), named('stm'));
      await assert.rejects(kept!.get('k'), named('stm'));
    });
  });

  describe('conflicts by isolation level', () => {
    /** Runs an STM that reads `r`, writes `w`, and has a concurrent writer touch `touched` during attempt 1. */
    async function attemptsWith(isolation: StmIsolation, touched: 'r' | 'w'): Promise<number> {
      const { client } = ctx;
      const p = ctx.prefix();
      await client.kv.put(`${p}r`, '0');
      let attempts = 0;
      await runStm(
        client,
        async (stm) => {
          attempts = stm.attempt;
          await stm.get(`${p}r`);
          if (stm.attempt === 1) await client.kv.put(`${p}${touched}`, 'concurrent');
          stm.put(`${p}w`, 'mine');
        },
        { isolation },
      );
      const { kvs } = await client.kv.get(`${p}w`);
      assert.equal(kvs[0]?.valueText, 'mine');
      return attempts;
    }

    for (const isolation of guarded) {
      it(`${isolation}: a concurrent write to a key read forces a retry`, async () => {
        assert.equal(await attemptsWith(isolation, 'r'), 2);
      });
    }

    it('read-committed: commits over a concurrent write to a key read', async () => {
      assert.equal(await attemptsWith('read-committed', 'r'), 1);
    });

    it('serializable-snapshot: a write to a key written after the snapshot forces a retry; serializable does not check it', async () => {
      assert.equal(await attemptsWith('serializable-snapshot', 'w'), 2);
      assert.equal(await attemptsWith('serializable', 'w'), 1);
    });

    it('snapshot levels read every key at the first read\'s revision', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      await client.kv.put(`${p}a`, 'a1');
      await client.kv.put(`${p}b`, 'b1');
      const seen: string[] = [];
      await runStm(client, async (stm) => {
        seen.push(`${stm.attempt}:${await stm.getText(`${p}a`)}`);
        if (stm.attempt === 1) await client.kv.put(`${p}b`, 'b2');
        seen.push(`${stm.attempt}:${await stm.getText(`${p}b`)}`);
      });
      // Attempt 1 still sees b1 (its snapshot); the commit then fails, and attempt 2 sees b2.
      assert.deepEqual(seen, ['1:a1', '1:b1', '2:a1', '2:b2']);
    });

    it('read-committed loses an update that serializable-snapshot keeps', async () => {
      const { client } = ctx;
      /** Two increments of one counter; the second runs entirely inside the first one's read and write. */
      async function twoIncrements(isolation: StmIsolation): Promise<string | undefined> {
        const key = `${ctx.prefix()}counter`;
        await client.kv.put(key, '0');
        await runStm(
          client,
          async (outer) => {
            const n = await balance(outer, key);
            if (outer.attempt === 1) {
              await runStm(client, async (inner) => inner.put(key, String((await balance(inner, key)) + 1)), { isolation });
            }
            outer.put(key, String(n + 1));
          },
          { isolation },
        );
        return (await client.kv.get(key)).kvs[0]?.valueText;
      }
      assert.equal(await twoIncrements('serializable-snapshot'), '2');
      assert.equal(await twoIncrements('read-committed'), '1', 'read-committed promises no protection against lost updates');
    });

    it('restarts the attempt when its snapshot is compacted away', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      await client.kv.put(`${p}a`, '1');
      await client.kv.put(`${p}b`, '1');
      const attempts: number[] = [];
      await runStm(client, async (stm) => {
        attempts.push(stm.attempt);
        await stm.get(`${p}a`);
        if (stm.attempt === 1) {
          const { header } = await client.kv.put(`${p}other`, 'x');
          await client.kv.compact(header.revision);
        }
        stm.put(`${p}b`, String((await balance(stm, `${p}b`)) + 1));
      });
      assert.deepEqual(attempts, [1, 2]);
      assert.equal((await client.kv.get(`${p}b`)).kvs[0]?.valueText, '2');
    });
  });

  describe('aborting', () => {
    it('an error thrown by the function aborts without retry and writes nothing', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      const boom = new Error('boom');
      let calls = 0;
      await assert.rejects(
        runStm(client, async (stm) => {
          calls += 1;
          await stm.get(`${p}a`);
          stm.put(`${p}a`, 'x');
          throw boom;
        }),
        (e: unknown) => e === boom,
      );
      assert.equal(calls, 1);
      assert.equal((await client.kv.get(`${p}a`)).kvs.length, 0);
    });

    it('the signal stops it: before the start, during a read, and between retries', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      let calls = 0;
      await assert.rejects(
        runStm(client, () => void (calls += 1), { signal: AbortSignal.abort() }),
        (e: unknown) => e instanceof CancelledError,
      );
      assert.equal(calls, 0);

      const during = new AbortController();
      await assert.rejects(
        runStm(
          client,
          async (stm) => {
            during.abort();
            stm.put(`${p}a`, 'x');
            await stm.get(`${p}b`);
          },
          { signal: during.signal },
        ),
        (e: unknown) => e instanceof CancelledError,
      );

      // A function stuck on something that ignores the signal does not hold runStm up.
      const stuck = new AbortController();
      const never = new Promise<never>(() => undefined);
      const running = assert.rejects(
        runStm(
          client,
          async (stm) => {
            await stm.get(`${p}b`);
            stuck.abort();
            await never;
          },
          { signal: stuck.signal },
        ),
        (e: unknown) => e instanceof CancelledError,
      );
      await running;

      // Every attempt conflicts; the signal aborts during attempt 3.
      const retries = new AbortController();
      const attempts: number[] = [];
      await assert.rejects(
        runStm(
          client,
          async (stm) => {
            attempts.push(stm.attempt);
            await stm.get(`${p}c`);
            await client.kv.put(`${p}c`, String(stm.attempt));
            if (stm.attempt === 3) retries.abort();
            stm.put(`${p}a`, 'x');
          },
          { signal: retries.signal },
        ),
        (e: unknown) => e instanceof CancelledError,
      );
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal((await client.kv.get(`${p}a`)).kvs.length, 0, 'nothing was committed');
    });

    it('rejects with StmConflictError naming the attempts once maxRetries are used up', async () => {
      const { client } = ctx;
      const p = ctx.prefix();
      let calls = 0;
      await assert.rejects(
        runStm(
          client,
          async (stm) => {
            calls += 1;
            await stm.get(`${p}hot`);
            await client.kv.put(`${p}hot`, String(calls));
            stm.put(`${p}out`, 'x');
          },
          { maxRetries: 2 },
        ),
        (e: unknown) =>
          e instanceof StmConflictError &&
          e.attempts === 3 &&
          e.isolation === 'serializable-snapshot' &&
          e.retryable &&
          !e.mayHaveBeenApplied &&
          /3 attempts/.test(e.message),
      );
      assert.equal(calls, 3);
      assert.equal((await client.kv.get(`${p}out`)).kvs.length, 0);
    });
  });

  describe('bank transfers under concurrent workers', () => {
    const accounts = 8;
    const initial = 100;
    const workers = 4;
    const transfersPerWorker = 50;

    for (const isolation of guarded) {
      it(`${isolation}: the total is constant and conflicts were retried`, { timeout: 60_000 }, async () => {
        const p = ctx.prefix();
        const key = (i: number) => `${p}acct/${i}`;
        for (let i = 0; i < accounts; i++) await ctx.client.kv.put(key(i), String(initial));
        const clients = Array.from({ length: workers }, () => clientFor(ctx.server));
        let retried = 0;
        let committed = 0;
        try {
          await Promise.all(
            clients.map(async (client, w) => {
              const next = random(w + 1);
              for (let t = 0; t < transfersPerWorker; t++) {
                const from = Math.floor(next() * accounts);
                const to = (from + 1 + Math.floor(next() * (accounts - 1))) % accounts;
                const fraction = next();
                await runStm(
                  client,
                  async (stm) => {
                    if (stm.attempt > 1) retried += 1;
                    const a = await balance(stm, key(from));
                    const b = await balance(stm, key(to));
                    const amount = Math.floor(a * fraction);
                    stm.put(key(from), String(a - amount));
                    stm.put(key(to), String(b + amount));
                  },
                  { isolation },
                );
                committed += 1;
              }
            }),
          );
        } finally {
          await Promise.all(clients.map((client) => client.close()));
        }
        assert.equal(committed, workers * transfersPerWorker);
        const { kvs } = await ctx.client.kv.get(`${p}acct/`, { prefix: true });
        assert.equal(kvs.length, accounts);
        assert.ok(kvs.every((kv) => Number(kv.valueText) >= 0), 'no balance went negative');
        const total = kvs.reduce((sum, kv) => sum + Number(kv.valueText), 0);
        assert.equal(total, accounts * initial, 'money was created or destroyed');
        assert.ok(retried > 0, 'concurrent transfers should have conflicted at least once');
      });
    }
  });
});

