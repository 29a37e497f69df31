/**
 * Differential test: the same seeded random sequence of KV requests goes, through raw gRPC,
 * to a fresh bundled server and a fresh real etcd 3.4.23, and every answer must be equal
 * (results, counts, prev kvs, header revisions, error codes and messages). Replay a failure
 * with `DIFF_SEED=<seed>`; `DIFF_OPS=<n>` changes the length (default 2000).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdAvailable, startRealEtcd } from '../harness/real-etcd.js';
import { startBundled } from '../harness/bundled.js';
import { RawClient, type RawResult } from '../harness/raw.js';
import type { ServerHandle } from '../harness/handle.js';
import { Rng, seedFromEnv } from './diff/rng.js';
import { LIVE_LEASES, OpGenerator, type KvOp, type StoreState } from './diff/generate.js';
import { describeOp, normalise } from './diff/normalise.js';
import { ZERO } from './diff/keyspace.js';

const OPS = Number(process.env.DIFF_OPS ?? 2000);
const FULL_CHECK_EVERY = 100;

/** A read of every key, compared every FULL_CHECK_EVERY steps and at the end. */
const WHOLE_KEYSPACE: KvOp = {
  method: 'Range',
  request: {
    key: ZERO,
    range_end: ZERO,
    limit: 0n,
    revision: 0n,
    sort_order: 0,
    sort_target: 0,
    serializable: false,
    keys_only: false,
    count_only: false,
    min_mod_revision: 0n,
    max_mod_revision: 0n,
    min_create_revision: 0n,
    max_create_revision: 0n,
  },
};

describe('differential: bundled server vs etcd 3.4.23 over raw gRPC', { skip: etcdAvailable() }, () => {
  const servers: ServerHandle[] = [];
  const clients: RawClient[] = [];
  let real: RawClient;
  let ours: RawClient;

  before(
    async () => {
      const [etcd, bundled] = await Promise.all([startRealEtcd(), startBundled()]);
      servers.push(etcd, bundled);
      real = new RawClient(etcd.endpoint);
      ours = new RawClient(bundled.endpoint);
      clients.push(real, ours);
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      for (const client of clients.splice(0)) client.close();
      for (const server of servers.splice(0)) await server.stop();
    },
    { timeout: 30_000 },
  );

  it(`${OPS} random KV operations give identical answers`, { timeout: 180_000 }, async (t) => {
    assert.ok(Number.isInteger(OPS) && OPS > 0, `DIFF_OPS must be a positive integer, got ${process.env.DIFF_OPS}`);
    const seed = seedFromEnv();
    t.diagnostic(`DIFF_SEED=${seed}`);
    const state: StoreState = { revision: 1n, compacted: 0n, leases: true };

    // Same lease IDs on both servers, so puts with leases and LEASE compares line up.
    for (const id of LIVE_LEASES) {
      const request = { ID: id, TTL: 3600n };
      const [a, b] = await Promise.all([real.call('Lease', 'LeaseGrant', request), ours.call('Lease', 'LeaseGrant', request)]);
      assert.ok(a.ok, `real etcd LeaseGrant failed: ${JSON.stringify(a.err)}`);
      if (b.err?.code === 12) {
        // No Lease service in the bundled server yet: only unknown lease IDs get used.
        state.leases = false;
        t.diagnostic(`bundled server has no LeaseGrant (${b.err.details}); running without live leases`);
      } else {
        assert.ok(b.ok, `bundled LeaseGrant failed: ${JSON.stringify(b.err)}`);
      }
    }

    const gen = new OpGenerator(new Rng(seed), state);
    const tally = { ok: 0, err: 0, writes: 0 };
    const errorKinds = new Map<string, number>();
    const where = (i: number, op: KvOp) => `DIFF_SEED=${seed} step ${i}/${OPS}: ${describeOp(op)}`;

    // Answers that differ while both are errors leave both stores untouched, so the run goes
    // on and reports them all at the end; any other difference stops it at once.
    const errorMismatches: string[] = [];
    const summary = () =>
      errorMismatches.length === 0 ? '' : `\n${errorMismatches.length} error mismatch(es) before it:\n${errorMismatches.slice(0, 5).join('\n')}`;
    const compareOne = async (i: number, op: KvOp): Promise<RawResult<any>> => {
      const [a, b] = await Promise.all([
        real.call('KV', op.method, op.request),
        ours.call('KV', op.method, op.request),
      ]);
      const want = normalise(op, a);
      const got = normalise(op, b);
      try {
        assert.deepEqual(got, want, `bundled (actual) differs from etcd (expected) at ${where(i, op)}`);
      } catch (err) {
        if (!(a.err && b.err)) {
          if (err instanceof Error) err.message += summary();
          throw err;
        }
        errorMismatches.push(`- ${where(i, op)}\n    etcd: ${a.err.details} (code ${a.err.code}); bundled: ${b.err.details} (code ${b.err.code})`);
      }
      return a;
    };

    for (let i = 0; i < OPS; i++) {
      const op = gen.next();
      const answer = await compareOne(i, op);
      if (answer.err) {
        tally.err++;
        errorKinds.set(answer.err.details, (errorKinds.get(answer.err.details) ?? 0) + 1);
      } else {
        tally.ok++;
        const revision: bigint | undefined = answer.ok.header?.revision;
        if (revision !== undefined && revision > state.revision) {
          state.revision = revision;
          tally.writes++;
        }
        if (op.method === 'Compact') state.compacted = op.request.revision;
      }
      if ((i + 1) % FULL_CHECK_EVERY === 0 || i === OPS - 1) await compareOne(i, WHOLE_KEYSPACE);
    }
    t.diagnostic(`ok=${tally.ok} errors=${tally.err} revision-bumping=${tally.writes} final revision=${state.revision}`);
    for (const [details, n] of [...errorKinds].sort((x, y) => y[1] - x[1])) t.diagnostic(`  ${n} x ${details}`);
    assert.equal(errorMismatches.length, 0, `bundled and etcd failed with different errors:${summary()}`);
    // The run must have exercised both paths substantially.
    assert.ok(tally.ok > OPS / 3, `too few successful requests (${tally.ok}/${OPS}); DIFF_SEED=${seed}`);
    assert.ok(tally.err > OPS / 50, `too few error answers (${tally.err}/${OPS}); DIFF_SEED=${seed}`);
    assert.ok(tally.writes > OPS / 5, `too few revision bumps (${tally.writes}/${OPS}); DIFF_SEED=${seed}`);
  });
});
