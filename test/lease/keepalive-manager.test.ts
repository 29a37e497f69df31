/**
 * The KeepAliveManager against a fake keepalive stream: one shared stream, dispatch by ID,
 * the TTL/3 cadence, loss reasons and their timing bound, stream re-opening and cleanup.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientClosedError, LeaseLostError } from '../../src/index.js';
import { KeepAliveManager } from '../../src/lease/keepalive-manager.js';
import type { KeptLeaseLoss, LeaseSink } from '../../src/lease/keepalive-manager.js';
import { Lease } from '../../src/lease/lease.js';
import { FakeKeepAlive, sleep, unavailable, until } from './fake-keepalive.js';

/** A sink that records what it hears. */
class Recorder implements LeaseSink {
  readonly renewals: Array<{ ttl: bigint; deadline: number; at: number }> = [];
  loss: { reason: KeptLeaseLoss; cause: unknown; at: number } | undefined;
  lossCount = 0;
  renewed(ttl: bigint, deadline: number): void {
    this.renewals.push({ ttl, deadline, at: Date.now() });
  }
  lost(reason: KeptLeaseLoss, cause: unknown): void {
    this.lossCount += 1;
    this.loss ??= { reason, cause, at: Date.now() };
  }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('KeepAliveManager', { timeout: 30_000, concurrency: true }, () => {
  it('renews every lease over one stream at a third of the TTL, dispatching answers by ID', async () => {
    const fake = new FakeKeepAlive();
    fake.ttlFor = (id) => (id === 2n ? 3n : 1n);
    const manager = new KeepAliveManager(fake.open);
    const a = new Recorder();
    const b = new Recorder();
    manager.keep(1n, a);
    manager.keep(2n, b);
    await until(() => a.renewals.length >= 4, 3000, 'lease 1 renewed 4 times');
    assert.equal(fake.opens, 1, 'one stream for both leases');
    assert.ok(a.renewals.every((r) => r.ttl === 1n));
    assert.ok(b.renewals.length >= 1 && b.renewals.every((r) => r.ttl === 3n));
    // 1 s TTL: renewed every ~333 ms; 3 s TTL: every ~1 s. Lease 1 must have been sent more often.
    const writes = fake.current.writes;
    assert.ok(writes.filter((id) => id === 1n).length > writes.filter((id) => id === 2n).length);
    // Deadlines are the renewal's send time plus the TTL: never later than the answer plus TTL.
    for (const r of a.renewals) assert.ok(r.deadline <= r.at + 1000);
    manager.close();
  });

  it('reports `expired` once when the server answers TTL 0', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    let gone = false;
    fake.ttlFor = () => (gone ? 0n : 1n);
    const sink = new Recorder();
    manager.keep(7n, sink);
    await until(() => sink.renewals.length >= 1, 2000, 'renewed');
    gone = true;
    await until(() => sink.loss !== undefined, 2000, 'lost');
    assert.equal(sink.loss?.reason, 'expired');
    assert.equal(manager.size, 0);
    await until(() => !manager.streamOpen && fake.live.length === 0, 2000, 'stream closed once no lease is kept');
    assert.equal(sink.lossCount, 1);
  });

  it('declares `deadline` at the last successful renewal plus the TTL, not later', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const sink = new Recorder();
    manager.keep(9n, sink);
    await until(() => sink.renewals.length >= 2, 3000, 'renewed twice');
    fake.mode = 'silent';
    const last = sink.renewals.at(-1)!;
    await until(() => sink.loss !== undefined, 3000, 'lost');
    const lastDeadline = sink.renewals.at(-1)!.deadline;
    assert.equal(sink.loss!.reason, 'deadline');
    assert.ok(sink.loss!.at >= lastDeadline - 2, `lost ${lastDeadline - sink.loss!.at} ms before the deadline`);
    assert.ok(sink.loss!.at <= last.at + 1000 + 1000, 'lost within TTL + 1 s of the last renewal');
    // The silent stream was taken for stalled and re-opened (on the other endpoint) meanwhile.
    assert.ok(fake.opens >= 2, `opens: ${fake.opens}`);
    assert.ok(fake.avoided.slice(1).every((a) => a !== undefined));
    assert.ok(sink.loss!.cause instanceof Error, 'the stall is the cause');
    await until(() => fake.live.length === 0, 2000, 'stream closed');
  });

  it('re-opens a failed stream on another endpoint and re-sends every lease at once', async () => {
    const fake = new FakeKeepAlive();
    fake.ttlFor = () => 30n; // next renewal would be 10 s away
    const manager = new KeepAliveManager(fake.open);
    const sinks = [new Recorder(), new Recorder(), new Recorder()];
    sinks.forEach((sink, i) => manager.keep(BigInt(i + 1), sink));
    await until(() => sinks.every((s) => s.renewals.length === 1), 2000, 'first renewals');
    const first = fake.current;
    first.fail(unavailable('connection reset'));
    await until(() => sinks.every((s) => s.renewals.length === 2), 2000, 'renewed on the new stream');
    assert.equal(fake.opens, 2);
    assert.equal(fake.avoided[1], first.endpoint, 'the failed endpoint is avoided');
    assert.notEqual(fake.current.endpoint, first.endpoint);
    assert.deepEqual([...fake.current.writes].sort(), [1n, 2n, 3n]);
    assert.ok(sinks.every((s) => s.loss === undefined));
    manager.close();
  });

  it('backs off while streams cannot be opened, and recovers', async () => {
    const fake = new FakeKeepAlive();
    fake.refuse = unavailable('no endpoint');
    const manager = new KeepAliveManager(fake.open);
    const sink = new Recorder();
    manager.keep(5n, sink);
    await sleep(600);
    // Jittered doubling from 50 ms: a handful of attempts, not a tight loop.
    assert.ok(fake.opens >= 2 && fake.opens <= 10, `opens in 600 ms: ${fake.opens}`);
    fake.refuse = undefined;
    await until(() => sink.renewals.length >= 1, 4000, 'renewed after recovery');
    manager.close();
    assert.equal(sink.loss?.reason, 'client-closed');
  });

  it('pauses a lease being revoked: TTL 0 is left to the revoke, which reports `revoked`', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const sink = new Recorder();
    manager.keep(3n, sink);
    await until(() => sink.renewals.length >= 1, 2000, 'renewed');
    const resume = manager.pause(3n);
    const sent = fake.current.writes.length;
    fake.ttlFor = () => 0n;
    await sleep(400); // past a renewal slot
    assert.equal(fake.current.writes.length, sent, 'nothing is sent while paused');
    assert.equal(sink.lossCount, 0);
    manager.lose(3n, 'revoked');
    resume();
    assert.equal(sink.loss!.reason, 'revoked');
    assert.equal(sink.lossCount, 1);
  });

  it('shares one renewal between keepers of the same ID, until the last one stops', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const a = new Recorder();
    const b = new Recorder();
    const ha = manager.keep(4n, a);
    manager.keep(4n, b);
    await until(() => a.renewals.length >= 2 && b.renewals.length >= 2, 3000, 'both renewed');
    assert.equal(manager.size, 1);
    ha.stop();
    ha.stop();
    assert.equal(manager.size, 1, 'still kept for b');
    manager.close();
    assert.equal(a.loss, undefined, 'a stopped before the close');
    assert.equal(b.loss?.reason, 'client-closed');
  });

});

// Alone and not concurrent: it compares the process's active timers.
describe('KeepAliveManager cleanup', { timeout: 10_000 }, () => {
  it('close() loses every lease with `client-closed`, closes the stream and leaves no timer', async () => {
    const before = timeouts();
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const sinks = Array.from({ length: 50 }, () => new Recorder());
    sinks.forEach((sink, i) => manager.keep(BigInt(100 + i), sink));
    await until(() => sinks.every((s) => s.renewals.length >= 1), 2000, 'all renewed');
    manager.close();
    manager.close();
    assert.ok(sinks.every((s) => s.loss?.reason === 'client-closed' && s.lossCount === 1));
    assert.throws(() => manager.keep(1n, new Recorder()), ClientClosedError);
    await until(() => fake.live.length === 0, 2000, 'stream cancelled');
    await sleep(20);
    assert.equal(timeouts(), before, 'no timer left behind');
  });
});

describe('Lease (over a fake stream)', { timeout: 30_000 }, () => {
  const make = (manager: KeepAliveManager, id: bigint, revoke: () => Promise<unknown> = () => Promise.resolve()) =>
    new Lease(id, 1n, Date.now() + 1000, { keep: (sink) => manager.keep(id, sink), revoke });

  it('reports loss once through signal, promise and event, with its reason', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const lease = make(manager, 11n);
    const renewed: bigint[] = [];
    const lost: LeaseLostError[] = [];
    lease.on('renewed', (r) => renewed.push(r.ttl));
    lease.on('lost', (e) => lost.push(e));
    await until(() => renewed.length >= 2, 3000, 'renewed');
    assert.equal(lease.alive, true);
    assert.ok(lease.deadline > Date.now() - 1000);
    lease.close();
    lease.close();
    const error = await lease.lost;
    assert.ok(error instanceof LeaseLostError);
    assert.equal(error.reason, 'closed');
    assert.equal(error.leaseId, 11n);
    assert.equal(lease.signal.aborted, true);
    assert.equal(lease.signal.reason, error);
    assert.deepEqual(lost, [error]);
    // A late `lost` listener still hears about it.
    const late = await new Promise<LeaseLostError>((resolve) => lease.on('lost', resolve));
    assert.equal(late, error);
    assert.equal(manager.size, 0, 'closing stops renewals');
    manager.close();
    assert.equal(lost.length, 1, 'the client close does not report it again');
  });

  it('a throwing listener becomes a process warning, not a crash', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    const lease = make(manager, 12n);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      lease.on('renewed', () => {
        throw new Error('listener bug');
      });
      await until(() => warnings.length >= 1, 3000, 'warning emitted');
      assert.match(warnings[0]!, /listener bug/);
      assert.equal(lease.alive, true, 'the lease keeps going');
    } finally {
      manager.close();
      await sleep(10);
      process.off('warning', onWarning);
    }
  });

  it('revoke() pauses renewals, then reports `revoked`; a failed revoke leaves it alive', async () => {
    const fake = new FakeKeepAlive();
    const manager = new KeepAliveManager(fake.open);
    let fail = true;
    const lease = make(manager, 13n, async () => {
      await sleep(20);
      if (fail) throw unavailable('revoke failed');
      manager.lose(13n, 'revoked');
    });
    await until(() => manager.streamOpen, 2000, 'stream open');
    await assert.rejects(lease.revoke(), /revoke failed/);
    assert.equal(lease.alive, true);
    fail = false;
    await lease.revoke();
    assert.equal((await lease.lost).reason, 'revoked');
    await lease.revoke(); // idempotent
    manager.close();
  });
});
