/**
 * Mutual exclusion under contention, against the bundled server and real etcd 3.4.23:
 * three child processes and two in-process clients take the same lock about 200 times in all,
 * while holders are killed (SIGKILL of a child mid-hold) or have their session revoked under
 * them. Each holder increments a shared counter with a transaction fenced on the lock and on
 * the counter being unchanged since it read it; the record must show no overlap, no lost or
 * repeated increment, fencing tokens that only grow, and normally released holds that never
 * overlap in time.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Mutex } from '../../src/index.js';
import type { Client } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { newSession, sleep } from './helpers.js';
import { criticalSection, now } from './workload.js';
import type { WorkRecord } from './workload.js';
import { WorkerProcess } from './worker-process.js';

const TTL = 2;
const CHILD_ROUNDS = 40;
const REPLACEMENT_ROUNDS = 40;
const LOCAL_ROUNDS = 40;
const KILLS = 2;
const REVOKES_PER_LOCAL = 2;
/** performance.timeOrigin is derived from a millisecond wall clock in each process. */
const CLOCK_TOLERANCE_MS = 2;

forEachServer('Mutex under contention', (ctx) => {
  it('no two holders overlap while holders die or lose their session', { timeout: 60_000 }, async (t) => {
    const started = Date.now();
    const name = `${ctx.prefix()}contended`;
    const counter = `${name}-counter`;
    const records: WorkRecord[] = [];
    const spawnChild = (id: string, rounds: number) =>
      new WorkerProcess('lock-loop', { endpoint: ctx.server.endpoint, name, counter, rounds, ttl: TTL, holdMs: 3, id });
    const children = [0, 1, 2].map((i) => spawnChild(`child${i}`, CHILD_ROUNDS));
    const locals = [0, 1].map((i) => localWorker(clientFor(ctx.server), ctx.client, `local${i}`, name, counter, records));

    // Kill children mid-hold (after "acquired", before "released"), replacing each.
    let kills = 0;
    for (let attempt = 0; kills < KILLS && attempt < 400; attempt++) {
      await sleep(25);
      if (attempt < 20) continue; // let everyone start
      const victim = children.find((child) => child.running && child.records.at(-1)?.ev === 'acquired');
      if (victim === undefined) continue;
      await victim.kill('SIGKILL');
      kills += 1;
      children.push(spawnChild(`child${children.length}`, REPLACEMENT_ROUNDS));
    }
    assert.equal(kills, KILLS, 'found children to kill mid-hold');

    await Promise.all([...locals, ...children.map((child) => child.exited)]);
    for (const child of children) records.push(...(child.records as unknown as WorkRecord[]));
    const errors = records.filter((r) => r.ev === 'error');
    const writes = records.filter((r): r is Extract<WorkRecord, { ev: 'write' }> => r.ev === 'write');
    const okWrites = writes.filter((w) => w.ok).sort((a, b) => a.n - b.n);

    // No holder ever saw another one's write between its read and its fenced write.
    assert.deepEqual(writes.filter((w) => w.overlap), [], 'overlapping holders');
    // etcd's history of the counter is the shared record: every increment is exactly one more
    // than the previous (none lost, none repeated), and successive writers' tokens only grow.
    const history = await counterHistory(ctx.client, counter);
    assert.deepEqual(history.map((h) => h.n), Array.from({ length: history.length }, (_v, i) => i + 1));
    for (let i = 1; i < history.length; i++) {
      assert.ok(history[i]!.token > history[i - 1]!.token, `token order at n=${i + 1}`);
    }
    // Every write a worker saw succeed is in it (killed children may not have reported theirs).
    const recorded = new Set(history.map((h) => `${h.n}:${h.token}`));
    for (const w of okWrites) assert.ok(recorded.has(`${w.n}:${w.token}`), `write ${w.n}:${w.token} is in the history`);
    // Holders whose session was revoked mid-hold were told (signal) and fenced out.
    const fenced = writes.filter((w) => !w.ok);
    assert.ok(fenced.length >= 2 * REVOKES_PER_LOCAL, `fenced writes: ${fenced.length}`);
    assert.ok(fenced.every((w) => w.signalled), 'every fenced-out holder had its signal fired before writing');

    // Holds released normally never overlap in time with the next holder's.
    const acquired = new Map<string, number>();
    const released = new Map<string, number>();
    for (const r of records) {
      if (r.ev === 'acquired') {
        assert.equal(acquired.has(String(r.token)), false, `token ${String(r.token)} acquired twice`);
        acquired.set(String(r.token), Number(r.t));
      } else if (r.ev === 'released') released.set(String(r.token), Number(r.t));
    }
    const order = [...acquired.keys()].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    for (let i = 1; i < order.length; i++) {
      const end = released.get(order[i - 1]!);
      if (end === undefined) continue; // killed or revoked holder: covered by fencing above
      assert.ok(end <= acquired.get(order[i]!)! + CLOCK_TOLERANCE_MS, `hold ${order[i - 1]} released after ${order[i]} was acquired`);
    }
    assert.ok(acquired.size >= 180, `acquisitions: ${acquired.size}; errors: ${JSON.stringify(errors.slice(0, 5))}`);
    assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`);
    t.diagnostic(
      `${acquired.size} acquisitions, ${history.length} fenced increments, ${fenced.length} fenced out, ` +
        `${kills} holders killed, ${errors.length} errors, ${Date.now() - started} ms`,
    );
  });
});

/** Every value the counter had, in order, from etcd's history (a watch replayed from revision 1). */
async function counterHistory(client: Client, key: string): Promise<Array<{ n: number; token: bigint }>> {
  const last = (await client.kv.get(key)).kvs[0];
  if (last === undefined) return [];
  const history: Array<{ n: number; token: bigint }> = [];
  const watch = client.watch(key, { startRevision: 1 });
  const deadline = Date.now() + 10_000;
  for await (const item of watch) {
    if (item.type === 'put') {
      const [n, token] = item.kv.valueText.split(':');
      history.push({ n: Number(n), token: BigInt(token!) });
    }
    if (item.type === 'put' && item.kv.modRevision >= last.modRevision) break;
    assert.ok(Date.now() < deadline, 'history replay took over 10 s');
  }
  return history;
}

/**
 * An in-process worker with its own client: LOCAL_ROUNDS acquisitions; on a few of them its
 * session is revoked by `admin` (sometimes after orphaning it) between the read and the
 * fenced write. It checks the lock's signal fired, then the fenced write must fail.
 */
async function localWorker(client: Client, admin: Client, id: string, name: string, counter: string, out: WorkRecord[]): Promise<void> {
  const revokeAt = new Set<number>();
  while (revokeAt.size < REVOKES_PER_LOCAL) revokeAt.add(5 + Math.floor(Math.random() * (LOCAL_ROUNDS - 10)));
  try {
    let session = await newSession(client, TTL);
    for (let round = 0; round < LOCAL_ROUNDS; round++) {
      try {
        const lock = await new Mutex(session, name).lock({ timeoutMs: 30_000 });
        const token = lock.fencingToken.toString();
        out.push({ ev: 'acquired', id, token, t: now() });
        const victim = session;
        const meanwhile = revokeAt.has(round)
          ? async () => {
              if (round % 2 === 0) victim.orphan();
              await admin.lease.revoke(victim.leaseId);
              const lost = await Promise.race([lock.lost, sleep(5000).then(() => undefined)]);
              assert.ok(lost !== undefined, `${id}: no loss reported within 5 s of the revoke`);
              out.push({ ev: 'lost', id, token, reason: lost.reason });
            }
          : undefined;
        const write = await criticalSection(client, lock, counter, id, 3, meanwhile);
        out.push(write);
        if (meanwhile === undefined) out.push({ ev: 'released', id, token, t: now() });
        await lock.unlock();
        if (meanwhile !== undefined) {
          await session.close();
          session = await newSession(client, TTL);
        }
      } catch (error) {
        out.push({ ev: 'error', id, message: error instanceof Error ? error.message : String(error) });
      }
    }
    await session.close();
  } finally {
    await client.close();
  }
}
