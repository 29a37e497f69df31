/**
 * The `etcd3` npm client (1.1.x) against the bundled server and real etcd 3.4.23, with the same
 * assertions on both: KV builders, watchers (prefix, prev-kv, three watchers on one client,
 * cancel) and leases (put through a lease, keepalive past 2x TTL, revoke, `lost` when the
 * lease is revoked by someone else).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, EtcdLeaseInvalidError, Lease, type IKeyValue, type Watcher } from 'etcd3';
import { forEachServer } from '../harness/servers.js';
import { sleep } from '../harness/children.js';

const WAIT_MS = 10_000;

/** Resolves once `ok()` holds, polling every 20 ms; rejects after `timeoutMs`. */
async function until(what: string, ok: () => boolean, timeoutMs = WAIT_MS, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms ${detail()}`);
    await sleep(20);
  }
}

/** Resolves with the first emission of `event`; rejects after `timeoutMs`. */
function once<T>(emitter: { once(event: string, fn: (arg: T) => void): unknown }, event: string, timeoutMs = WAIT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (arg: T) => {
      clearTimeout(timer);
      resolve(arg);
    });
  });
}

/** One event as a watcher saw it: `PUT k=v`, `PUT k=v (was k=v0)`, `DELETE k`, ... */
type Seen = string;

/** Records a watcher's `put`/`delete` events and its `data` responses. */
function record(watcher: Watcher): { events: Seen[]; responses: Array<{ revision: string; events: number }>; errors: Error[] } {
  const rec = { events: [] as Seen[], responses: [] as Array<{ revision: string; events: number }>, errors: [] as Error[] };
  const prev = (p?: IKeyValue): string => (p ? ` (was ${p.key.toString()}=${p.value.toString()})` : '');
  watcher.on('put', (kv, previous) => rec.events.push(`PUT ${kv.key.toString()}=${kv.value.toString()}${prev(previous)}`));
  watcher.on('delete', (kv, previous) => rec.events.push(`DELETE ${kv.key.toString()}${prev(previous)}`));
  watcher.on('data', (res) => rec.responses.push({ revision: String(res.header.revision), events: res.events.length }));
  watcher.on('error', (err) => rec.errors.push(err));
  return rec;
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

forEachServer('etcd3 npm client', (ctx) => {
  // Everything a test opens is released in its after hook, even when an assertion failed
  // half-way: etcd3 keeps re-dialling the watch stream of a closed client that still has
  // watchers (its timers would keep the test process alive), so watchers are cancelled and
  // leases closed before the clients.
  const clients: Etcd3[] = [];
  const watchers: Watcher[] = [];
  const leases: Lease[] = [];
  const etcd3 = (): Etcd3 => {
    const client = new Etcd3({ hosts: ctx.server.url, dialTimeout: 5000 });
    clients.push(client);
    return client;
  };
  const keep = <T extends Watcher | Lease>(x: T): T => {
    if (x instanceof Lease) {
      leases.push(x);
    } else {
      const watcher: Watcher = x;
      watchers.push(watcher);
      // A cancelled watcher ends: it needs no cancel at cleanup (a second one would wait in vain).
      watcher.once('end', () => {
        const at = watchers.indexOf(watcher);
        if (at >= 0) watchers.splice(at, 1);
      });
    }
    return x;
  };
  const closeAll = async (): Promise<void> => {
    await Promise.all(watchers.splice(0).map((w) => bounded(w.cancel(), 3000)));
    for (const lease of leases.splice(0)) lease.release();
    for (const c of clients.splice(0)) c.close();
  };

  it('KV: put, get, getAll().prefix(), delete', { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const p = ctx.prefix();
    await client.put(`${p}a`).value('1');
    await client.put(`${p}b`).value('2');
    await client.put(`${p}c`).value('3');
    await client.put(`${p.slice(0, -1)}x`).value('outside');
    assert.equal(await client.get(`${p}a`).string(), '1');
    assert.equal(await client.get(`${p}zz`).string(), null);
    assert.deepEqual(await client.getAll().prefix(p).strings(), { [`${p}a`]: '1', [`${p}b`]: '2', [`${p}c`]: '3' });
    assert.deepEqual(await client.getAll().prefix(p).keys(), [`${p}a`, `${p}b`, `${p}c`]);
    assert.equal(await client.getAll().prefix(p).count(), 3);
    assert.deepEqual(await client.getAll().prefix(p).limit(2).sort('Key', 'Descend').keys(), [`${p}c`, `${p}b`]);
    const put = await client.put(`${p}a`).value('1b').getPrevious();
    assert.equal(put?.value.toString(), '1');
    const del = await client.delete().key(`${p}b`);
    assert.equal(del.deleted, '1');
    const delAll = await client.delete().prefix(p);
    assert.equal(delAll.deleted, '2');
    assert.deepEqual(await client.getAll().prefix(p).strings(), {});
    assert.equal(await client.get(`${p.slice(0, -1)}x`).string(), 'outside');
  });

  it('watch().prefix(): every put and delete, a 2-put txn in one response, prev-kv, cancel()', { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const p = ctx.prefix();
    const watcher = keep(await client.watch().prefix(p).create());
    const withPrev = keep(await client.watch().prefix(p).withPreviousKV().create());
    const rec = record(watcher);
    const recPrev = record(withPrev);

    await client.put(`${p}a`).value('1');
    await client.put(`${p}b`).value('2');
    const txn = await client
      .if(`${p}a`, 'Value', '==', '1')
      .then(client.put(`${p}a`).value('3'), client.put(`${p}c`).value('4'))
      .commit();
    assert.equal(txn.succeeded, true);
    await client.put(`${p.slice(0, -1)}-outside`).value('x');
    await client.delete().key(`${p}b`);
    await client.delete().prefix(p);
    await client.put(`${p}a`).value('5');

    const expected = [`PUT ${p}a=1`, `PUT ${p}b=2`, `PUT ${p}a=3`, `PUT ${p}c=4`, `DELETE ${p}b`, `DELETE ${p}a`, `DELETE ${p}c`, `PUT ${p}a=5`];
    await until('8 events', () => rec.events.length >= 8 && recPrev.events.length >= 8, WAIT_MS, () =>
      JSON.stringify({ rec, recPrev }),
    );
    assert.deepEqual(rec.events, expected);
    assert.deepEqual(recPrev.events, [
      `PUT ${p}a=1`,
      `PUT ${p}b=2`,
      `PUT ${p}a=3 (was ${p}a=1)`,
      `PUT ${p}c=4`,
      `DELETE ${p}b (was ${p}b=2)`,
      `DELETE ${p}a (was ${p}a=3)`,
      `DELETE ${p}c (was ${p}c=4)`,
      `PUT ${p}a=5`,
    ]);
    // One response per revision: the txn's two puts, and the prefix delete's two deletes, come together.
    assert.deepEqual(
      rec.responses.map((r) => r.events),
      [1, 1, 2, 1, 2, 1],
    );
    const revisions = rec.responses.map((r) => Number(r.revision));
    assert.ok(
      revisions.every((r, i) => i === 0 || r > revisions[i - 1]!),
      `response revisions must increase: ${revisions}`,
    );
    assert.equal(revisions.at(-1), Number(await client.get(`${p}a`).exec().then((r) => r.header.revision)));
    assert.deepEqual(rec.errors, []);
    assert.deepEqual(recPrev.errors, []);

    // After cancel() the watcher hears nothing more; the other one still does.
    await watcher.cancel();
    await client.put(`${p}after`).value('x');
    await until('the event after cancel', () => recPrev.events.length >= 9);
    assert.equal(recPrev.events[8], `PUT ${p}after=x`);
    assert.equal(rec.events.length, 8, `a cancelled watcher got ${JSON.stringify(rec.events.slice(8))}`);
    await withPrev.cancel();
  });

  it('three (and four) watchers on one client each see their own events; cancel one, the rest go on', { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const p = ctx.prefix();
    const watchers = [
      keep(await client.watch().prefix(p).create()),
      keep(await client.watch().key(`${p}a`).create()),
      keep(await client.watch().key(`${p}b`).create()),
      keep(await client.watch().prefix(p).only('delete').create()),
    ];
    const recs = watchers.map(record);
    await client.put(`${p}a`).value('1');
    await client.put(`${p}b`).value('2');
    await client.put(`${p}c`).value('3');
    await client.delete().key(`${p}b`);
    await client.put(`${p}a`).value('4');
    const expected = [
      [`PUT ${p}a=1`, `PUT ${p}b=2`, `PUT ${p}c=3`, `DELETE ${p}b`, `PUT ${p}a=4`],
      [`PUT ${p}a=1`, `PUT ${p}a=4`],
      [`PUT ${p}b=2`, `DELETE ${p}b`],
      [`DELETE ${p}b`],
    ];
    await until('every watcher`s events', () => recs.every((r, i) => r.events.length >= expected[i]!.length), WAIT_MS, () =>
      JSON.stringify(recs.map((r) => r.events)),
    );
    assert.deepEqual(
      recs.map((r) => r.events),
      expected,
    );

    // Cancel the second (the a-watcher): the third watcher must keep working, and the first too.
    await watchers[1]!.cancel();
    await client.put(`${p}a`).value('5');
    await client.put(`${p}b`).value('6');
    await until('events after cancel', () => recs[0]!.events.length >= 7 && recs[2]!.events.length >= 3);
    assert.deepEqual(recs[0]!.events.slice(5), [`PUT ${p}a=5`, `PUT ${p}b=6`]);
    assert.deepEqual(recs[2]!.events.slice(2), [`PUT ${p}b=6`]);
    assert.equal(recs[1]!.events.length, 2, `the cancelled watcher got ${JSON.stringify(recs[1]!.events)}`);
    // A new watcher after a cancel gets its own events too.
    const late = keep(await client.watch().key(`${p}c`).create());
    const lateRec = record(late);
    await client.delete().key(`${p}c`);
    await until('the late watcher`s event', () => lateRec.events.length >= 1 && recs[3]!.events.length >= 2);
    assert.deepEqual(lateRec.events, [`DELETE ${p}c`]);
    assert.deepEqual(recs[3]!.events, [`DELETE ${p}b`, `DELETE ${p}c`]);
    for (const r of [...recs, lateRec]) assert.deepEqual(r.errors, []);
    for (const w of [watchers[0]!, watchers[2]!, watchers[3]!, late]) await w.cancel();
  });

  it('watch().startRevision() replays history', { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const p = ctx.prefix();
    const first = await client.put(`${p}a`).value('1').exec();
    await client.put(`${p}a`).value('2');
    await client.delete().key(`${p}a`);
    const watcher = keep(await client.watch().key(`${p}a`).startRevision(String(first.header.revision)).withPreviousKV().create());
    const rec = record(watcher);
    await until('3 replayed events', () => rec.events.length >= 3, WAIT_MS, () => JSON.stringify(rec));
    await client.put(`${p}a`).value('3');
    await until('the live event', () => rec.events.length >= 4);
    assert.deepEqual(rec.events, [`PUT ${p}a=1`, `PUT ${p}a=2 (was ${p}a=1)`, `DELETE ${p}a (was ${p}a=2)`, `PUT ${p}a=3`]);
    await watcher.cancel();
  });

  it('lease(2): a put through the lease, keepalive keeps it past 2x TTL, revoke() removes the key', { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const p = ctx.prefix();
    const lease = keep(client.lease(2));
    const lost: Error[] = [];
    lease.on('lost', (err) => lost.push(err));
    let renewals = 0;
    lease.on('keepaliveSucceeded', () => (renewals += 1));
    await lease.put(`${p}k`).value('v');
    const id = await lease.grant();
    const kv = await client.get(`${p}k`).exec();
    assert.equal(kv.kvs[0]?.lease, id, 'the key is attached to the lease');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: id, keys: true });
    assert.equal(String(ttl.grantedTTL), '2');
    assert.deepEqual(ttl.keys.map((k) => k.toString()), [`${p}k`]);

    // 4.5 s > 2 x TTL: the key must survive every check on the way.
    const deadline = Date.now() + 4500;
    let checks = 0;
    while (Date.now() < deadline && checks < 20) {
      await sleep(500);
      checks += 1;
      assert.equal(await client.get(`${p}k`).string(), 'v', `the key vanished after ${checks * 0.5} s (${renewals} renewals)`);
    }
    assert.ok(renewals >= 3, `expected several keepalive renewals, got ${renewals}`);
    assert.equal(lease.revoked(), false);

    await lease.revoke();
    assert.equal(lease.revoked(), true);
    assert.equal(await client.get(`${p}k`).string(), null);
    const after = await client.leaseClient.leaseTimeToLive({ ID: id });
    assert.equal(String(after.TTL), '-1');
    assert.deepEqual(lost, []);
  });

  it("lease.on('lost') fires when another client revokes the lease", { timeout: 20_000 }, async (t) => {
    t.after(closeAll);
    const client = etcd3();
    const other = etcd3();
    const p = ctx.prefix();
    const lease = keep(client.lease(3));
    const lostP = once<Error>(lease, 'lost');
    lostP.catch(() => undefined); // awaited below; no unhandled rejection if a step before fails
    await lease.put(`${p}k`).value('v');
    const id = await lease.grant();
    await once(lease, 'keepaliveSucceeded');
    await other.leaseClient.leaseRevoke({ ID: id });
    assert.equal(await other.get(`${p}k`).string(), null, 'the revoke deleted the key');
    const err = await lostP;
    assert.ok(err instanceof EtcdLeaseInvalidError, `lost with ${err?.constructor.name}: ${err?.message}`);
    assert.equal(lease.revoked(), true);
    // The lease is gone for good: a put through it fails.
    await assert.rejects(client.put(`${p}k2`).value('v').lease(id).exec(), /requested lease not found/);
  });
});
