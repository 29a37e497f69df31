/**
 * Balancer behaviour against scripted members (fake-etcd.ts): a member that stops answering
 * while its connection stays up, a member without a leader, a slow member, a leader change,
 * and the metadata every call and stream carries.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { Client } from '../../src/client.js';
import { EtcdError, NoLeaderError, UnavailableError } from '../../src/errors.js';
import { freePort } from '../harness/ports.js';
import { startFakeEtcd } from './fake-etcd.js';
import type { FakeEtcd } from './fake-etcd.js';

const fakes: FakeEtcd[] = [];
const clients: Client[] = [];
const UNRESPONSIVE_MS = 400;

async function fake(port = 0): Promise<FakeEtcd> {
  const created = await startFakeEtcd(port);
  fakes.push(created);
  return created;
}

function client(endpoints: string[], extra: Record<string, number> = {}): Client {
  const created = new Client({ endpoints, dialTimeoutMs: 2000, timeoutMs: 10_000, unresponsiveMs: UNRESPONSIVE_MS, ...extra });
  clients.push(created);
  return created;
}

/** Reads until every fake has served one, so every endpoint is connected (bounded). */
async function connectAll(c: Client, servers: FakeEtcd[]): Promise<void> {
  for (let i = 0; i < 50 && servers.some((s) => s.count('Range') === 0); i++) await c.kv.get('warm-up');
  assert.ok(servers.every((s) => s.count('Range') > 0), 'every endpoint connected');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const f of fakes.splice(0)) await f.close();
});
after(async () => {
  for (const f of fakes) await f.close();
});

describe('an endpoint that stops answering', { timeout: 30_000 }, () => {
  it('a read stuck on it is retried on another endpoint after about unresponsiveMs, and it gets no new calls', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.freeze();
    const rangesOnA = a.count('Range');
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      await c.kv.get(`k${i}`);
      const took = Date.now() - started;
      assert.ok(took < UNRESPONSIVE_MS * 2 + 600, `read ${i} took ${took} ms`);
    }
    // Exactly one read went to the frozen endpoint (then it was set aside).
    assert.equal(a.count('Range') - rangesOnA, 1);
  });

  it('a write stuck on it fails after about unresponsiveMs with mayHaveBeenApplied, and later writes go elsewhere', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.freeze();
    let failure: unknown;
    for (let i = 0; i < 4 && failure === undefined; i++) {
      const started = Date.now();
      try {
        await c.kv.put(`k${i}`, 'v');
      } catch (error) {
        failure = error;
        const took = Date.now() - started;
        assert.ok(took >= UNRESPONSIVE_MS - 50 && took < UNRESPONSIVE_MS + 800, `failed after ${took} ms`);
      }
    }
    assert.ok(failure instanceof UnavailableError, String(failure));
    assert.equal(failure.mayHaveBeenApplied, true);
    assert.equal(failure.retryable, false);
    assert.equal(failure.endpoint, a.endpoint);
    assert.match(failure.message, new RegExp(`no answer within ${UNRESPONSIVE_MS} ms`));
    assert.equal(a.count('Put'), 1, 'the write was sent once and not repeated');
    const putsOnB = b.count('Put');
    for (let i = 0; i < 5; i++) await c.kv.put(`after${i}`, 'v');
    assert.equal(b.count('Put') - putsOnB, 5);
  });

  it('is probed and takes calls again once it answers', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.freeze();
    await c.kv.get('stuck'); // routed to a or b; a is found out either way below
    for (let i = 0; i < 4; i++) await c.kv.get('x');
    await until(() => a.count('Probe') > 0, 3000, 'a probe of the frozen endpoint');
    a.thaw();
    const before = a.count('Range');
    // Probes back off to at most 2 s; within that the endpoint is back in the rotation.
    await until(() => a.calls.at(-1)?.method === 'Probe', 3000, 'a probe after the thaw');
    for (let i = 0; i < 20 && a.count('Range') === before; i++) {
      await c.kv.get('y');
      await sleep(100);
    }
    assert.ok(a.count('Range') > before, 'the endpoint takes reads again');
  });

  it('back from a pause, it gets calls only once it has caught up with what the client has seen', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.freeze();
    for (let i = 0; i < 4; i++) await c.kv.get('x'); // one reaches a, which is set aside
    // Meanwhile the cluster moved on: the client sees revision 100 from b.
    b.revision = 100n;
    await c.kv.get('seen');
    a.revision = 40n;
    a.thaw();
    const rangesOnA = a.count('Range');
    const probes = () => a.count('Probe');
    // While a answers with a lower revision that keeps rising, it stays aside.
    for (const revision of [40n, 60n, 80n]) {
      a.revision = revision;
      const before = probes();
      await until(() => probes() > before, 8000, `a probe of a at revision ${revision}`);
      for (let i = 0; i < 5; i++) await c.kv.get('y');
    }
    assert.equal(a.count('Range'), rangesOnA, 'no read went to the member while it was catching up');
    // Caught up: it takes reads again.
    a.revision = 100n;
    for (let i = 0; i < 60 && a.count('Range') === rangesOnA; i++) {
      await c.kv.get('z');
      await sleep(50);
    }
    assert.ok(a.count('Range') > rangesOnA, 'the member takes reads again once caught up');
  });

  it('back from a pause with a revision that does not move (other data), it is taken back', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.freeze();
    for (let i = 0; i < 4; i++) await c.kv.get('x');
    b.revision = 100n;
    await c.kv.get('seen');
    a.revision = 5n;
    a.thaw();
    const rangesOnA = a.count('Range');
    for (let i = 0; i < 80 && a.count('Range') === rangesOnA; i++) {
      await c.kv.get('z');
      await sleep(50);
    }
    assert.ok(a.count('Range') > rangesOnA, 'the member takes reads again');
  });

  it('a slow endpoint that still answers probes is not set aside, and its calls are not abandoned', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.script = (call) => (call.method === 'Range' && call.request.key !== undefined ? { after: UNRESPONSIVE_MS * 2, reply: 'default' } : 'default');
    b.script = a.script;
    const started = Date.now();
    await Promise.all([c.kv.get('slow1'), c.kv.get('slow2')]);
    const took = Date.now() - started;
    assert.ok(took >= UNRESPONSIVE_MS * 2 - 50, `both slow reads were answered by their endpoint (${took} ms)`);
    assert.ok(a.count('Probe') + b.count('Probe') > 0, 'the endpoints were probed');
    const writes = [c.kv.put('p1', 'v'), c.kv.put('p2', 'v')];
    await Promise.all(writes);
  });
});

describe('retries', { timeout: 30_000 }, () => {
  it('a read that fails with a transient error is retried on another endpoint, not the same one', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    a.script = (call) => (call.method === 'Range' ? { fail: 'leaderChanged' } : 'default');
    let retried = 0;
    for (let i = 0; i < 6; i++) {
      const [onA, onB] = [a.count('Range'), b.count('Range')];
      await c.kv.get(`k${i}`);
      assert.ok(a.count('Range') - onA <= 1, 'never twice on the endpoint that failed');
      assert.equal(b.count('Range') - onB, 1, 'answered by the other endpoint');
      if (a.count('Range') > onA) retried += 1;
    }
    assert.ok(retried >= 1, 'some reads went to the failing endpoint first');
  });
});

describe('a member without a leader', { timeout: 30_000 }, () => {
  it('reads move to another endpoint at once; the member is probed and comes back once it has a leader', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    let leaderless = true;
    a.script = (call) => (leaderless && call.hasLeader ? { fail: 'noLeader' } : 'default');
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      await c.kv.get(`k${i}`);
      assert.ok(Date.now() - started < 500, 'answered without waiting');
    }
    const refused = a.count('Range');
    leaderless = false;
    const refusedAt = Date.now();
    await until(() => a.calls.some((call) => call.method === 'Probe' && call.at > refusedAt), 3000, 'a probe');
    for (let i = 0; i < 30 && a.count('Range') === refused; i++) {
      await c.kv.get('again');
      await sleep(100);
    }
    assert.ok(a.count('Range') > refused, 'reads reach the member again');
  });

  it('a read stuck on a frozen leader is retried on the members electing a new one, and served once they have', async () => {
    const [a, b, c] = [await fake(), await fake(), await fake()];
    const cl = client([a.endpoint, b.endpoint, c.endpoint]);
    await connectAll(cl, [a, b, c]);
    // a (the leader) freezes; b and c have no leader until they elect one, in a new term.
    const ELECTION_MS = 1800;
    a.freeze();
    const frozenAt = Date.now();
    const electedAt = frozenAt + ELECTION_MS;
    const electing = (call: { hasLeader: boolean }) => (Date.now() < electedAt && call.hasLeader ? { fail: 'noLeader' as const } : 'default');
    b.script = electing;
    c.script = electing;
    const elected = setTimeout(() => {
      b.term = 3n;
      c.term = 3n;
    }, ELECTION_MS);
    try {
      const rangesOnA = a.count('Range');
      // Sequential reads, as a read loop does: one of them reaches a (b and c refuse theirs).
      let worst = 0;
      let i = 0;
      while (Date.now() < electedAt + 1000) {
        const started = Date.now();
        await cl.kv.get(`k${i++}`);
        worst = Math.max(worst, Date.now() - started);
      }
      assert.equal(a.count('Range') - rangesOnA, 1, 'one read reached the frozen member, and only one');
      const onA = a.calls.filter((call) => call.method === 'Range').at(-1)!;
      // It was taken off a once a was found unresponsive, and retried on b and c while they
      // still had no leader (not left on a until its deadline or until a new term was seen).
      const retriedDuringElection = [b, c].some((m) =>
        m.calls.some((call) => call.method === 'Range' && call.at > onA.at + UNRESPONSIVE_MS && call.at < electedAt),
      );
      assert.ok(retriedDuringElection, 'the stuck read was retried on the electing members');
      // No read waited much longer than the election itself (the call deadline is 10 s).
      assert.ok(worst < ELECTION_MS + 600, `the longest read took ${worst} ms (election ${ELECTION_MS} ms)`);
    } finally {
      clearTimeout(elected);
    }
  });

  it('a write it refuses is not repeated: NoLeaderError, retryable, not applied', async () => {
    const a = await fake();
    a.script = (call) => (call.method === 'Put' ? { fail: 'noLeader' } : 'default');
    const c = client([a.endpoint]);
    await assert.rejects(c.kv.put('k', 'v'), (error: unknown) => {
      assert.ok(error instanceof NoLeaderError, String(error));
      assert.equal(error.retryable, true);
      assert.equal(error.mayHaveBeenApplied, false);
      return true;
    });
    assert.equal(a.count('Put'), 1);
  });
});

describe('writes are sent at most once', { timeout: 30_000 }, () => {
  it('a write waits for an endpoint within the dial timeout and is sent once one is ready', async () => {
    const port = await freePort();
    const c = client([`127.0.0.1:${port}`], { dialTimeoutMs: 5000 });
    const pending = c.kv.put('k', 'v');
    await sleep(300);
    const late = await fake(port);
    await pending;
    assert.equal(late.count('Put'), 1);
  });

  it('a write whose connection breaks after it was sent may have been applied and is not repeated', async () => {
    const [a, b] = [await fake(), await fake()];
    a.script = (call) => (call.method === 'Put' ? 'hang' : 'default');
    b.script = a.script;
    const c = client([a.endpoint, b.endpoint], { unresponsiveMs: 5000 });
    await connectAll(c, [a, b]);
    const pending = c.kv.put('k', 'v');
    await until(() => a.count('Put') + b.count('Put') === 1, 2000, 'the write to arrive');
    // The server goes away with the write in flight (its streams are reset).
    await (a.count('Put') === 1 ? a : b).close();
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof EtcdError, String(error));
      assert.equal(error.mayHaveBeenApplied, true);
      assert.equal(error.retryable, false);
      return true;
    });
    assert.equal(a.count('Put') + b.count('Put'), 1);
  });

  it('a leader change gives up a write that was waiting since before it (mayHaveBeenApplied)', async () => {
    const [a, b] = [await fake(), await fake()];
    a.script = (call) => (call.method === 'Put' ? 'hang' : 'default');
    b.script = a.script;
    const c = client([a.endpoint, b.endpoint], { unresponsiveMs: UNRESPONSIVE_MS });
    await connectAll(c, [a, b]);
    const started = Date.now();
    const pending = c.kv.put('k', 'v');
    await until(() => a.count('Put') + b.count('Put') === 1, 2000, 'the write to arrive');
    a.term = 3n;
    b.term = 3n;
    await c.kv.get('see the new term');
    await assert.rejects(pending, (error: unknown) => {
      assert.ok(error instanceof UnavailableError, String(error));
      assert.match(error.message, /leader changed/);
      assert.equal(error.mayHaveBeenApplied, true);
      return true;
    });
    const took = Date.now() - started;
    assert.ok(took < UNRESPONSIVE_MS + 1000, `gave up after ${took} ms`);
    assert.equal(a.count('Put') + b.count('Put'), 1);
  });
});

describe('a read waiting on a leader that is gone', { timeout: 30_000 }, () => {
  it('is retried shortly after each leader change, even when it was moved once already', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    const isR = (request: Record<string, unknown>) => Buffer.from(request.key as Uint8Array).toString() === 'r';
    // Each member holds the first read of 'r' it gets, as a follower holds a read whose read
    // index it asked of a leader that then died; both still answer probes.
    const held = (call: { method: string; request: Record<string, unknown> }, member: FakeEtcd) =>
      call.method === 'Range' && isR(call.request) && member.calls.filter((x) => x.method === 'Range' && isR(x.request)).length === 1
        ? 'hang'
        : 'default';
    a.script = (call) => held(call, a);
    b.script = (call) => held(call, b);
    const rRanges = () => [a, b].reduce((n, m) => n + m.calls.filter((x) => x.method === 'Range' && isR(x.request)).length, 0);
    const pending = c.kv.get('r');
    await until(() => rRanges() === 1, 2000, 'the read to arrive');
    for (const term of [3n, 4n]) {
      await sleep(UNRESPONSIVE_MS * 2); // longer than a probe takes: the member is alive, the read just waits
      assert.equal(rRanges(), Number(term) - 2, 'the read waits while nothing changes');
      a.term = term;
      b.term = term;
      const changed = Date.now();
      await c.kv.get('see the new term');
      if (term === 3n) {
        await until(() => rRanges() === 2, 2000, 'the read to be sent again after the first change');
        assert.ok(Date.now() - changed < UNRESPONSIVE_MS, `sent again ${Date.now() - changed} ms after the change`);
      }
    }
    const started = Date.now();
    await pending;
    assert.ok(Date.now() - started < UNRESPONSIVE_MS, 'answered soon after the second change');
    assert.equal(rRanges(), 3);
  });
});

describe('require-leader metadata', { timeout: 30_000 }, () => {
  it('watch and keepalive streams, writes and linearizable reads carry hasleader; serializable reads do not', async () => {
    const a = await fake();
    const c = client([a.endpoint]);
    const watch = c.watch('w');
    await watch.ready;
    const lease = await c.lease.create(5);
    await c.kv.put('k', 'v');
    await c.kv.get('k');
    await c.kv.get('k', { serializable: true });
    const streams = new Map(a.streams.map((s) => [s.method, s.hasLeader]));
    assert.equal(streams.get('Watch'), true);
    assert.equal(streams.get('LeaseKeepAlive'), true);
    const put = a.calls.find((call) => call.method === 'Put')!;
    assert.equal(put.hasLeader, true);
    const ranges = a.calls.filter((call) => call.method === 'Range');
    assert.deepEqual(
      ranges.map((call) => [call.request.serializable === true, call.hasLeader]),
      [
        [false, true],
        [true, false],
      ],
    );
    assert.equal(a.calls.find((call) => call.method === 'LeaseGrant')?.hasLeader, true);
    lease.close();
    await watch.cancel();
  });
});

describe('streams on an endpoint that stops answering', { timeout: 30_000 }, () => {
  it('a quiet watch moves to another endpoint when its endpoint goes silent', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint], { unresponsiveMs: 300 });
    await connectAll(c, [a, b]);
    const watch = c.watch('w');
    let reconnected = 0;
    watch.on('reconnected', () => reconnected++);
    await watch.ready;
    const [carrier, other] = a.streams.some((s) => s.method === 'Watch') ? [a, b] : [b, a];
    carrier.freeze();
    const started = Date.now();
    // Silence probes start after 5 x unresponsiveMs (1.5 s) of quiet, and take 150 ms.
    await until(() => other.streams.some((s) => s.method === 'Watch') && reconnected > 0, 5000, 'the watch to move');
    const took = Date.now() - started;
    assert.ok(took < 4000, `moved after ${took} ms`);
    await watch.cancel();
  });

  it('after a leader change, a keepalive stream that heard nothing since is re-opened at once', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint]);
    await connectAll(c, [a, b]);
    const lease = await c.lease.create(5);
    const [carrier, other] = a.streams.some((s) => s.method === 'LeaseKeepAlive') ? [a, b] : [b, a];
    // The carrier now holds keepalives, as a follower does while its leader is frozen.
    carrier.holdKeepAlives = true;
    let renewed = false;
    lease.on('renewed', () => (renewed = true));
    a.term = 3n;
    b.term = 3n;
    const started = Date.now();
    await c.kv.get('see the new term');
    await until(() => other.streams.some((s) => s.method === 'LeaseKeepAlive'), 1000, 'the keepalive stream to re-open');
    await until(() => renewed, 1000, 'a renewal on the new stream');
    // Well before the keepalive's own stall detection (a third of the TTL, 1.67 s).
    assert.ok(Date.now() - started < 1000, `renewed ${Date.now() - started} ms after the leader change`);
    lease.close();
  });

  it('a kept-alive lease moves its stream to another endpoint and stays alive', async () => {
    const [a, b] = [await fake(), await fake()];
    const c = client([a.endpoint, b.endpoint], { unresponsiveMs: 300 });
    await connectAll(c, [a, b]);
    const lease = await c.lease.create(5);
    const [carrier, other] = a.streams.some((s) => s.method === 'LeaseKeepAlive') ? [a, b] : [b, a];
    carrier.freeze();
    await until(() => other.streams.some((s) => s.method === 'LeaseKeepAlive'), 5000, 'the keepalive stream to move');
    let renewed = false;
    lease.on('renewed', () => (renewed = true));
    await until(() => renewed, 4000, 'a renewal on the other endpoint');
    assert.equal(lease.alive, true);
    lease.close();
  });
});
