/**
 * Election failover against the bundled server and real etcd 3.4.23:
 * - a leader process killed with SIGKILL is replaced within its session TTL plus one second;
 * - a leader cut off from etcd (its connection black-holed) learns that its term ended before
 *   the next leader is elected, since its session ends at its own renewal deadline, which is
 *   never later than the server's expiry of its lease;
 * - a leader whose lease is revoked by someone else learns it no later than the next leader's
 *   campaign resolves.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, Election, LeaseLostError } from '../../src/index.js';
import type { LeadershipLostError } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { TcpProxy } from '../watch/tcp-proxy.js';
import { newSession, sleep, track, until, within, keysUnder } from './helpers.js';
import { now } from './workload.js';
import { WorkerProcess } from './worker-process.js';

const TTL = 2;

forEachServer('Election failover', (ctx) => {
  it(`a killed leader process is replaced within its TTL (${TTL} s) plus one second`, { timeout: 40_000 }, async () => {
    const { client, server } = ctx;
    const name = `${ctx.prefix()}failover`;
    const leader = new WorkerProcess('leader', { endpoint: server.endpoint, name, value: 'child', ttl: TTL, id: 'child' });
    const session = await newSession(client, 10);
    try {
      await leader.waitFor('elected', (r) => r.ev === 'elected');
      const election = new Election(session, name);
      assert.equal((await election.leader())?.valueText, 'child');
      const campaign = track(election.campaign('parent', { timeoutMs: 20_000 }));
      await until(async () => (await keysUnder(client, name)).length === 2, 'follower queued');
      await sleep(300);
      assert.equal(campaign.settled, false);
      const killedAt = now();
      await leader.kill('SIGKILL');
      const term = await within(campaign.promise, 10_000, 'the follower elected');
      const tookMs = now() - killedAt;
      assert.ok(tookMs <= TTL * 1000 + 1000, `elected ${Math.round(tookMs)} ms after the kill`);
      assert.equal((await election.leader())?.valueText, 'parent');
      await term.resign();
    } finally {
      await leader.kill();
      await session.close();
    }
  });

  it('a leader cut off from etcd learns it lost before another leader is elected', { timeout: 40_000 }, async () => {
    const { client, server } = ctx;
    const name = `${ctx.prefix()}cutoff`;
    const proxy = await TcpProxy.start(server.endpoint);
    const cutOff = new Client({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000, timeoutMs: 2000 });
    const follower = await newSession(client, 10);
    try {
      const leaderSession = await newSession(cutOff, TTL);
      const term = await new Election(leaderSession, name).campaign('cut-off');
      let lostAt = Number.POSITIVE_INFINITY;
      term.on('lost', () => (lostAt = now()));
      const campaign = track(
        new Election(follower, name).campaign('next', { timeoutMs: 20_000 }).then((next) => ({ next, at: now() })),
      );
      await until(async () => (await keysUnder(client, name)).length === 2, 'follower queued');
      proxy.block();
      proxy.cut();
      const { next, at: electedAt } = await within(campaign.promise, 10_000, 'the next leader');
      assert.equal(term.active, false);
      const loss = term.signal.reason as LeadershipLostError;
      assert.equal(loss.reason, 'session-ended', `${loss.message}; cause ${String(loss.cause)}`);
      assert.ok(loss.cause instanceof LeaseLostError && loss.cause.reason === 'deadline', `cause: ${String(loss.cause)}`);
      assert.ok(lostAt <= electedAt, `the old leader learned at ${lostAt}, the new one was elected at ${electedAt}`);
      await next.resign();
    } finally {
      await cutOff.close();
      await proxy.close();
      await follower.close();
    }
  });

  it('a leader whose lease is revoked by another client learns it no later than the next leader is elected', { timeout: 30_000 }, async () => {
    const { client } = ctx;
    const name = `${ctx.prefix()}revoked`;
    const leaderClient = clientFor(ctx.server);
    const followerClient = clientFor(ctx.server);
    try {
      const [leaderSession, followerSession] = await Promise.all([newSession(leaderClient, 10), newSession(followerClient, 10)]);
      const term = await new Election(leaderSession, name).campaign('first');
      let lostAt = Number.POSITIVE_INFINITY;
      term.on('lost', () => (lostAt = now()));
      const campaign = track(new Election(followerSession, name).campaign('second').then((next) => ({ next, at: now() })));
      await until(async () => (await keysUnder(client, name)).length === 2, 'follower queued');
      await client.lease.revoke(leaderSession.leaseId);
      const { next, at } = await within(campaign.promise, 10_000, 'the next leader');
      // Both leaders learn of the deleted key from their own watch streams on two independent
      // clients, so which one hears first is not guaranteed (see locks-and-elections.md); what
      // is promised is that the old leader is told at once.
      await until(() => !term.active, 'the old leader told', 2000);
      assert.ok(lostAt <= at + 500, `the old leader learned at ${lostAt}, the new one was elected at ${at}`);
      assert.equal((term.signal.reason as LeadershipLostError).reason, 'key-deleted');
      await next.resign();
      await followerSession.close();
    } finally {
      await Promise.all([leaderClient.close(), followerClient.close()]);
    }
  });
});
