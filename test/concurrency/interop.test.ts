/**
 * Interoperability with etcdctl 3.4 (Go's concurrency package) on the bundled server and real
 * etcd 3.4.23: `etcdctl lock` and our Mutex exclude each other in both directions, and
 * `etcdctl elect` / `etcdctl elect -l` and our Election agree on who leads and on proclaimed
 * values.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Election, Mutex } from '../../src/index.js';
import type { KeyValue } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { LongEtcdctl } from '../interop/long-etcdctl.js';
import { newSession, sleep, track, within } from './helpers.js';

/** The lines etcdctl printed that are keys under `name/`. */
const keyLines = (ctl: LongEtcdctl, name: string) => ctl.lines.filter((line) => line.startsWith(`${name}/`));

forEachServer('etcdctl interop', (ctx) => {
  it('etcdctl lock and Mutex exclude each other, with the same key layout', { timeout: 40_000 }, async () => {
    const { client, server } = ctx;
    const name = `${ctx.prefix()}shared-lock`;
    const session = await newSession(client);
    const ctls: LongEtcdctl[] = [];
    try {
      const theirs = new LongEtcdctl(server.endpoint, ['lock', name]);
      ctls.push(theirs);
      await theirs.waitUntil('the held key', (lines) => lines.some((line) => line.startsWith(`${name}/`)));
      const mutex = new Mutex(session, name);
      const owner = await mutex.owner();
      assert.equal(keyLines(theirs, name)[0], owner?.keyText, 'etcdctl printed the owner key');
      assert.equal(owner!.keyText, `${name}/${owner!.lease.toString(16)}`, 'key = <name>/<lease in lowercase hex>');

      const ours = track(mutex.lock({ timeoutMs: 20_000 }));
      await sleep(500);
      assert.equal(ours.settled, false, 'our lock waits while etcdctl holds it');
      await theirs.stop(); // SIGTERM: etcdctl unlocks
      const held = await within(ours.promise, 10_000, 'our lock after etcdctl released');
      assert.equal(await held.isOwner(), true);

      const next = new LongEtcdctl(server.endpoint, ['lock', name]);
      ctls.push(next);
      await sleep(700);
      assert.deepEqual(keyLines(next, name), [], 'etcdctl waits while we hold the lock');
      await held.unlock();
      await next.waitUntil('the held key', (lines) => lines.some((line) => line.startsWith(`${name}/`)));
      assert.notEqual(keyLines(next, name)[0], held.keyText);
      assert.equal((await mutex.owner())?.keyText, keyLines(next, name)[0]);
    } finally {
      for (const ctl of ctls) await ctl.stop();
      await session.close();
    }
  });

  it('etcdctl elect and Election agree on the leader and proclaimed values; etcdctl elect -l observes ours', { timeout: 40_000 }, async () => {
    const { client, server } = ctx;
    const name = `${ctx.prefix()}shared-election`;
    const session = await newSession(client);
    const ctls: LongEtcdctl[] = [];
    const election = new Election(session, name);
    const observer = election.observe();
    const seen: string[] = [];
    const observing = (async () => {
      for await (const kv of observer as AsyncIterable<KeyValue>) seen.push(kv.valueText);
    })();
    try {
      const theirLeader = new LongEtcdctl(server.endpoint, ['elect', name, 'ctl-1']);
      ctls.push(theirLeader);
      await theirLeader.waitUntil('elected', (lines) => lines.includes('ctl-1'));
      const listener = new LongEtcdctl(server.endpoint, ['elect', '-l', name]);
      ctls.push(listener);
      await listener.waitUntil('the first leader', (lines) => lines.includes('ctl-1'));

      const leader = await election.leader({ required: true });
      assert.equal(leader.valueText, 'ctl-1');
      assert.equal(leader.keyText, keyLines(theirLeader, name)[0]);

      const ours = track(election.campaign('ours-1', { timeoutMs: 20_000 }));
      await sleep(500);
      assert.equal(ours.settled, false, 'our campaign waits while etcdctl leads');
      await theirLeader.stop(); // SIGTERM: etcdctl resigns
      const term = await within(ours.promise, 10_000, 'our campaign after etcdctl resigned');
      await listener.waitUntil('our leadership', (lines) => lines.includes(term.keyText) && lines.includes('ours-1'));
      await term.proclaim('ours-2');
      await listener.waitUntil('our proclaimed value', (lines) => lines.includes('ours-2'));

      const follower = new LongEtcdctl(server.endpoint, ['elect', name, 'ctl-2']);
      ctls.push(follower);
      await sleep(700);
      assert.equal(follower.lines.includes('ctl-2'), false, 'etcdctl waits while we lead');
      await term.resign();
      await follower.waitUntil('elected', (lines) => lines.includes('ctl-2'));
      await listener.waitUntil('the next leader', (lines) => lines.includes('ctl-2'));
      await within(
        (async () => {
          for (let i = 0; i < 250 && !seen.includes('ctl-2'); i++) await sleep(20);
        })(),
        6000,
        'observer',
      );
      assert.deepEqual(seen, ['ctl-1', 'ours-1', 'ours-2', 'ctl-2'], 'our observer saw every leader and value in order');
    } finally {
      observer.cancel();
      await observing;
      for (const ctl of ctls) await ctl.stop();
      await session.close();
    }
  });
});
