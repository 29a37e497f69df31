/**
 * Election against the bundled server and real etcd 3.4.23: Go's key layout, campaign order,
 * proclaim and resign fenced on the leader key's create revision, leader(), observe(),
 * resume, cleanup after abort, and a leader learning at once that its term ended.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CancelledError,
  Election,
  ElectionNoLeaderError,
  ElectionNotLeaderError,
  InvalidArgumentError,
  LeadershipLostError,
  Op,
  SessionExpiredError,
} from '../../src/index.js';
import type { KeyValue, Leadership } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { keysUnder, newSession, sleep, track, until, within } from './helpers.js';

/** Collects what an observer reports, as `value@createRevision`. */
function collect(observer: AsyncIterable<KeyValue>): { seen: string[]; done: Promise<void> } {
  const seen: string[] = [];
  const done = (async () => {
    for await (const kv of observer) seen.push(`${kv.valueText}@${kv.createRevision}`);
  })();
  return { seen, done };
}

forEachServer('Election', (ctx) => {
  const electionName = () => `${ctx.prefix()}election`;

  describe('campaign, proclaim, resign', { concurrency: true }, () => {
    it('puts <prefix>/<lease hex> = value on the session lease; leader() reports it', async () => {
      const { client } = ctx;
      const name = electionName();
      const session = await newSession(client);
      try {
        const election = new Election(session, name);
        assert.equal(await election.leader(), undefined);
        await assert.rejects(election.leader({ required: true }), ElectionNoLeaderError);
        const term = await election.campaign('alpha');
        assert.equal(term.keyText, `${name}/${session.leaseId.toString(16)}`);
        assert.equal(election.isLeader, true);
        assert.equal(election.leadership, term);
        const leader = await election.leader({ required: true });
        assert.equal(leader.keyText, term.keyText);
        assert.equal(leader.valueText, 'alpha');
        assert.equal(leader.lease, session.leaseId);
        assert.equal(leader.createRevision, term.revision);
        assert.equal(await term.isLeader(), true);

        await election.proclaim('beta');
        assert.equal((await election.leader())!.valueText, 'beta');
        assert.equal((await election.leader())!.createRevision, term.revision, 'proclaim keeps the term');

        await term.resign();
        assert.equal(term.active, false);
        assert.equal((term.signal.reason as LeadershipLostError).reason, 'released');
        assert.equal(election.isLeader, false);
        assert.equal(await election.leader(), undefined);
        await assert.rejects(election.proclaim('gamma'), ElectionNotLeaderError);
        await election.resign(); // nothing to do
      } finally {
        await session.close();
      }
    });

    it('rejects bad arguments with InvalidArgumentError naming them', async () => {
      const session = await newSession(ctx.client);
      try {
        assert.throws(() => new Election(session, ''), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'prefix');
        const election = new Election(session, electionName());
        await assert.rejects(election.campaign(42 as never), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'value');
        await assert.rejects(election.campaign('v', { timeoutMs: 0 }), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'options.timeoutMs');
        await assert.rejects(Election.resume(session, 'x', 'x/other', 5), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'leaderKey');
        assert.throws(() => election.on('nope' as 'lost', () => undefined), InvalidArgumentError);
      } finally {
        await session.close();
      }
    });

    it('candidates are elected in campaign order; resign hands over to the next', { timeout: 30_000 }, async () => {
      const { client } = ctx;
      const name = electionName();
      const sessions = await Promise.all(Array.from({ length: 3 }, () => newSession(client)));
      try {
        const elections = sessions.map((s) => new Election(s, name));
        const first = await elections[0]!.campaign('c0');
        const second = track(elections[1]!.campaign('c1'));
        await until(async () => (await keysUnder(client, name)).length === 2, 'c1 queued');
        const third = track(elections[2]!.campaign('c2'));
        await until(async () => (await keysUnder(client, name)).length === 3, 'c2 queued');
        await sleep(100);
        assert.equal(second.settled || third.settled, false);
        assert.equal((await elections[0]!.leader())!.valueText, 'c0', 'candidates do not change the leader value');
        await first.resign();
        const t1 = await within(second.promise, 5000, 'c1 elected');
        assert.equal(third.settled, false);
        assert.equal((await elections[1]!.leader())!.valueText, 'c1');
        assert.ok(t1.revision > first.revision);
        await t1.resign();
        const t2 = await within(third.promise, 5000, 'c2 elected');
        await t2.resign();
      } finally {
        await Promise.all(sessions.map((s) => s.close()));
      }
    });

    it('a stale resign or proclaim (old term of the same session) does not touch the new term', async () => {
      const { client } = ctx;
      const session = await newSession(client);
      try {
        const election = new Election(session, electionName());
        const old = await election.campaign('one');
        await old.resign();
        const current = await election.campaign('two');
        assert.ok(current.revision > old.revision);
        await old.resign();
        await assert.rejects(old.proclaim('stale'), ElectionNotLeaderError);
        assert.equal(await current.isLeader(), true);
        assert.equal((await election.leader())!.valueText, 'two');
        await current.resign();
      } finally {
        await session.close();
      }
    });

    it('fences writes with leaderCompare()', async () => {
      const { client } = ctx;
      const session = await newSession(client);
      const data = `${electionName()}-data`;
      try {
        const term = await new Election(session, electionName()).campaign('x');
        assert.equal((await client.kv.txn().if(term.leaderCompare()).then(Op.put(data, '1')).commit()).succeeded, true);
        await term.resign();
        assert.equal((await client.kv.txn().if(term.leaderCompare()).then(Op.put(data, '2')).commit()).succeeded, false);
      } finally {
        await session.close();
      }
    });
  });

  describe('waiting and losing', { concurrency: true }, () => {
    it('an aborted campaign deletes its key; a session ending stops it with SessionExpiredError', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = electionName();
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const leader = await new Election(a, name).campaign('a');
        const controller = new AbortController();
        const follower = new Election(b, name);
        const waiting = track(follower.campaign('b', { signal: controller.signal }));
        await until(async () => (await keysUnder(client, name)).length === 2, 'b queued');
        controller.abort();
        await assert.rejects(waiting.promise, CancelledError);
        assert.deepEqual(await keysUnder(client, name), [leader.keyText]);

        const again = track(follower.campaign('b'));
        await until(async () => (await keysUnder(client, name)).length === 2, 'b queued again');
        b.orphan();
        await assert.rejects(within(again.promise, 5000, 'campaign'), SessionExpiredError);
        assert.equal(leader.active, true);
        await leader.resign();
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it("a leader learns at once when its key is deleted or its session ends ('lost' event and signal)", { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const [a, b] = await Promise.all([newSession(client), newSession(client)]);
      try {
        const election = new Election(a, electionName());
        const events: string[] = [];
        election.on('elected', () => events.push('elected')).on('lost', (e) => events.push(`lost:${e.reason}`));
        const term = await election.campaign('a');
        await client.kv.delete(term.key);
        const lost = await within(term.lost, 5000, 'loss');
        assert.equal(lost.reason, 'key-deleted');
        assert.equal(election.isLeader, false);
        await assert.rejects(term.proclaim('again'), ElectionNotLeaderError);
        assert.deepEqual(events, ['elected', 'lost:key-deleted']);

        const other = new Election(b, electionName());
        const term2 = await other.campaign('b');
        let firedWith: string | undefined;
        term2.on('lost', (e) => (firedWith = e.reason));
        b.orphan();
        assert.equal(term2.signal.aborted, true, 'synchronously with the session');
        await sleep(0);
        assert.equal(firedWith, 'session-ended');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('resume() takes over a live term after a restart (same lease, new client); refuses a gone one', { timeout: 20_000 }, async () => {
      const name = electionName();
      const before = clientFor(ctx.server);
      const after = clientFor(ctx.server);
      try {
        const old = await newSession(before, 10);
        const term = await new Election(old, name).campaign('v1');
        // The process "restarts": its session stops renewing (the lease lives on for its TTL).
        old.orphan();
        assert.equal(term.active, false);
        await before.close();
        const session = await newSession(after, 10, old.leaseId);
        const election = await Election.resume(session, name, term.keyText, term.revision, { timeoutMs: 5000 });
        assert.equal(election.isLeader, true);
        assert.equal(election.leadership!.revision, term.revision);
        await election.proclaim('v2');
        assert.equal((await election.leader())!.valueText, 'v2');
        await election.resign();
        await assert.rejects(Election.resume(session, name, term.keyText, term.revision), ElectionNotLeaderError);
        await session.close();
      } finally {
        await Promise.all([before.close(), after.close()]);
      }
    });
  });

  describe('observe', { concurrency: true }, () => {
    it('reports each leader and each proclaimed value, and ends cleanly on cancel', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = electionName();
      const [a, b, watcher] = await Promise.all([newSession(client), newSession(client), newSession(client)]);
      try {
        const observer = new Election(watcher, name).observe();
        const { seen, done } = collect(observer);
        await sleep(100);
        const ta = await new Election(a, name).campaign('a1');
        await until(() => seen.length === 1, 'first leader');
        const waitingB = track(new Election(b, name).campaign('b1'));
        await until(async () => (await keysUnder(client, name)).length === 2, 'b queued');
        await ta.proclaim('a2');
        await until(() => seen.length === 2, 'proclaimed value');
        await ta.resign();
        const tb: Leadership = await within(waitingB.promise, 5000, 'b elected');
        await until(() => seen.length === 3, 'second leader');
        assert.deepEqual(seen, [`a1@${ta.revision}`, `a2@${ta.revision}`, `b1@${tb.revision}`]);
        observer.cancel();
        await within(done, 5000, 'observer end');
        assert.equal(observer.ended, true);
        await tb.resign();
      } finally {
        await Promise.all([a.close(), b.close(), watcher.close()]);
      }
    });

    it('an observer started with a leader in place reports it first; leaving the loop ends it', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const name = electionName();
      const session = await newSession(client);
      try {
        const election = new Election(session, name);
        const term = await election.campaign('here');
        const controller = new AbortController();
        const got: string[] = [];
        for await (const kv of election.observe({ signal: controller.signal })) {
          got.push(kv.valueText);
          break;
        }
        assert.deepEqual(got, ['here']);
        const observer = election.observe({ signal: controller.signal });
        const { done } = collect(observer);
        controller.abort();
        await within(done, 5000, 'observer end on abort');
        await term.resign();
      } finally {
        await session.close();
      }
    });
  });
});
