/**
 * Kept-alive leases when the server fails: loss is reported as `deadline` no later than the
 * last successful renewal plus the TTL (plus one second of slack for this bound), and the
 * keepalive stream survives a restart that happens while the lease is still valid. Each test
 * gets a fresh server of its own, since it stops, freezes or restarts it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Lease } from '../../src/index.js';
import { keepAliveStats } from '../../src/lease/lease-client.js';
import { forEachServer } from '../harness/servers.js';
import { until } from './fake-keepalive.js';

/** Counts a lease's renewals and remembers when the last one arrived. */
function track(lease: Lease) {
  const state = { renewals: 0, lastAt: Date.now() };
  lease.on('renewed', () => {
    state.renewals += 1;
    state.lastAt = Date.now();
  });
  return state;
}

forEachServer('keepalive under failures', (ctx) => {
  const freeze = ctx.kind === 'bundled' ? 'stopped' : 'paused (SIGSTOP)';

  it(`reports \`deadline\` within the TTL of the last renewal when the server is ${freeze}`, { timeout: 30_000 }, async () => {
    const { server, client } = await ctx.fresh();
    const lease = await client.lease.create(2);
    const seen = track(lease);
    await until(() => seen.renewals >= 2, 5000, 'renewed twice');
    if (ctx.kind === 'bundled') await server.stop();
    else server.pause();
    try {
      const lost = await lease.lost;
      const lostAt = Date.now();
      assert.equal(lost.reason, 'deadline', lost.message);
      assert.ok(lostAt >= lease.deadline - 2, `declared ${lease.deadline - lostAt} ms before the deadline`);
      const sinceRenewal = lostAt - seen.lastAt;
      assert.ok(sinceRenewal <= 2000 + 1000, `declared ${sinceRenewal} ms after the last renewal (TTL 2 s)`);
      assert.ok(lost.cause instanceof Error, 'the stream failure is the cause');
      assert.equal(keepAliveStats(client.lease).kept, 0);
      await until(() => !keepAliveStats(client.lease).streamOpen, 3000, 'no stream once no lease is kept');
    } finally {
      if (ctx.kind === 'etcd') server.resume();
    }
  });

  it('the keepalive stream survives a server restart while the lease is valid', { timeout: 40_000 }, async () => {
    const { server, client } = await ctx.fresh();
    const lease = await client.lease.create(5);
    const seen = track(lease);
    await until(() => seen.renewals >= 1, 5000, 'renewed');
    await server.restart();
    const before = seen.renewals;
    // Renewed every ~1.7 s: two more renewals after the restart, on a new stream.
    await until(() => seen.renewals >= before + 2, 15_000, 'renewed twice after the restart');
    assert.equal(lease.alive, true, lease.lostError?.message);
    assert.ok(keepAliveStats(client.lease).streamsOpened >= 2, 'a new stream was opened');
    const ttl = await client.lease.timeToLive(lease.id);
    assert.ok(ttl.ttl > 0n, `timeToLive ${ttl.ttl}`);
    lease.close();
  });
});
