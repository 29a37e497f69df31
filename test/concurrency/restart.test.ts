/**
 * Elections through server outages, against the bundled server and real etcd 3.4.23:
 * - across a restart (data kept), the leader stays leader or loses cleanly, and at no moment
 *   do two candidates believe they lead;
 * - when the server freezes for longer than the leader's TTL (SIGSTOP), the leader's term ends
 *   at its own renewal deadline, before a follower is elected once the server is back.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Election } from '../../src/index.js';
import type { Client, Leadership } from '../../src/index.js';
import { startBundled } from '../harness/bundled.js';
import type { ServerHandle } from '../harness/handle.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { newSession, sleep, until, within } from './helpers.js';
import { now } from './workload.js';

/** Candidates on their own clients, and a watchdog asserting that at most one leads at any moment. */
class Candidates {
  readonly elections: Election[] = [];
  readonly clients: Client[] = [];
  readonly violations: string[] = [];
  readonly log: string[] = [];
  #polling = true;
  readonly #poller: Promise<void>;

  constructor() {
    this.#poller = (async () => {
      for (let i = 0; i < 10_000 && this.#polling; i++) {
        this.#check('poll');
        await sleep(10);
      }
    })();
  }

  async add(server: ServerHandle, name: string, ttl: number): Promise<Election> {
    const client = clientFor(server);
    this.clients.push(client);
    const election = new Election(await newSession(client, ttl), name);
    const index = this.elections.length;
    election
      .on('elected', () => {
        this.log.push(`elected ${index} at ${now()}`);
        this.#check(`elected ${index}`);
      })
      .on('lost', (e) => this.log.push(`lost ${index} (${e.reason}) at ${now()}`));
    this.elections.push(election);
    return election;
  }

  leaders(): number[] {
    return this.elections.flatMap((e, i) => (e.isLeader ? [i] : []));
  }

  async close(): Promise<void> {
    this.#polling = false;
    await this.#poller;
    await Promise.all(this.clients.map((c) => c.close()));
  }

  #check(when: string): void {
    const leaders = this.leaders();
    if (leaders.length > 1) this.violations.push(`${when}: candidates ${leaders.join(', ')} all lead`);
  }
}

/** Waits until exactly one candidate leads and etcd agrees; returns its index. */
async function agreedLeader(candidates: Candidates, timeoutMs: number): Promise<number> {
  let leader = -1;
  await until(
    async () => {
      const leaders = candidates.leaders();
      if (leaders.length !== 1) return false;
      const onServer = await candidates.elections[0]!.leader().catch(() => undefined);
      leader = leaders[0]!;
      return onServer?.createRevision === candidates.elections[leader]!.leadership?.revision;
    },
    'one leader that etcd agrees with',
    timeoutMs,
  );
  return leader;
}

forEachServer('Elections through outages', (ctx) => {
  it('across a restart the leader stays leader or loses cleanly, never two at once', { timeout: 60_000 }, async () => {
    const name = `${ctx.prefix()}restart`;
    const candidates = new Candidates();
    try {
      for (let i = 0; i < 3; i++) await candidates.add(ctx.server, name, 5);
      const elections = candidates.elections;
      const campaigns = elections.map((e, i) => e.campaign(`c${i}`).catch((error: unknown) => error));
      const before = await agreedLeader(candidates, 10_000);

      await ctx.server.restart();
      // Every session renews through the restarted server (or ends) before the state is judged.
      await within(
        Promise.all(
          elections.map(
            (e) => new Promise<void>((resolve) => {
              e.session.lease.on('renewed', () => resolve()).on('lost', () => resolve());
            }),
          ),
        ),
        10_000,
        'renewals after the restart',
      );
      const after = await agreedLeader(candidates, 10_000);
      if (after === before) assert.equal(elections[before]!.isLeader, true, 'the leader stayed leader');
      else assert.match(candidates.log.join('\n'), new RegExp(`lost ${before} `), 'the old leader was told');

      // Hand over through every remaining candidate; each is elected only after the previous resigned.
      let current = after;
      for (let round = 0; round < 2; round++) {
        await elections[current]!.resign();
        current = await agreedLeader(candidates, 10_000);
      }
      await elections[current]!.resign();
      const results = await within(Promise.all(campaigns), 5000, 'campaigns');
      assert.equal(results.filter((r) => r instanceof Error).length, 0, `campaign errors: ${results.filter((r) => r instanceof Error).join('; ')}`);
      assert.deepEqual(candidates.violations, [], candidates.log.join('\n'));
    } finally {
      await candidates.close();
    }
  });

  it('a server frozen beyond the leader TTL: the leader is told at its deadline, before a follower is elected', { timeout: 60_000 }, async () => {
    const server = ctx.kind === 'bundled' ? await startBundled({ inProcess: false }) : (await ctx.fresh()).server;
    const name = `${ctx.prefix()}frozen`;
    const candidates = new Candidates();
    try {
      const leaderElection = await candidates.add(server, name, 2);
      const followerElection = await candidates.add(server, name, 15);
      const term: Leadership = await leaderElection.campaign('short-ttl');
      let lostAt = Number.POSITIVE_INFINITY;
      term.on('lost', () => (lostAt = now()));
      const follower = followerElection.campaign('long-ttl').then((t) => ({ t, at: now() }));
      await until(async () => (await candidates.clients[1]!.kv.get(`${name}/`, { prefix: true, countOnly: true })).count === 2n, 'follower queued');

      server.pause();
      await sleep(3500);
      assert.equal(term.active, false, 'the leader knows its term ended while the server is frozen');
      server.resume();
      const { at } = await within(follower, 15_000, 'the follower elected');
      assert.ok(lostAt <= at, `old leader told at ${lostAt}, follower elected at ${at}`);
      assert.deepEqual(candidates.violations, [], candidates.log.join('\n'));
      await followerElection.resign();
    } finally {
      server.resume();
      await candidates.close();
      if (ctx.kind === 'bundled') await server.stop();
    }
  });
});
