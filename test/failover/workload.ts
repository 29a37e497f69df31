/**
 * The failover workload: a read loop, a write loop, a prefix watcher and a session run on
 * one client while a test injects faults. Everything is recorded with timestamps so a test
 * can check that each part made progress during and after each fault, and, at the end, that
 * no acknowledged write was lost, no write reported as not applied was applied, the watcher
 * saw exactly the server's history of the prefix, reads never went back in time, and the
 * session was never lost.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { Client } from '../../src/client.js';
import { createSession } from '../../src/concurrency/session.js';
import type { Session } from '../../src/concurrency/session.js';
import { EtcdError } from '../../src/errors.js';
import type { Watch } from '../../src/watch/watch.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const now = () => performance.now();

interface Failure {
  readonly at: number;
  readonly name: string;
  readonly message: string;
}

/** One fault step, for the progress checks. */
export interface Step {
  readonly label: string;
  /** When the fault was applied. */
  readonly faultAt: number;
  /** When it was lifted. */
  readonly liftedAt: number;
  /** End of the observation window after it was lifted. */
  readonly until: number;
}

export interface WorkloadOptions {
  /** Session TTL in seconds (default 5). */
  readonly ttl?: number;
  /** Pause between writes in ms (default 10). */
  readonly writePauseMs?: number;
  /** Pause between reads in ms (default 10). */
  readonly readPauseMs?: number;
}

const progressKinds = ['reads', 'writes', 'events', 'renewals'] as const;
type ProgressKind = (typeof progressKinds)[number];

export class Workload {
  readonly reads: number[] = [];
  readonly writes: number[] = [];
  readonly events: number[] = [];
  readonly renewals: number[] = [];
  /** Acknowledged writes: key -> revision of the write. */
  readonly acked = new Map<string, bigint>();
  /** Writes whose outcome is unknown (`mayHaveBeenApplied`). */
  readonly ambiguous = new Set<string>();
  /** Writes that failed with `mayHaveBeenApplied: false`: they must not exist. */
  readonly notApplied = new Set<string>();
  readonly readErrors: Failure[] = [];
  readonly writeErrors: Failure[] = [];
  /** Reads that missed a write acknowledged before they started. */
  readonly staleReads: string[] = [];
  /** Events seen by the watcher, in order. */
  readonly seen: { key: string; revision: bigint; type: string }[] = [];
  readonly watchProblems: string[] = [];
  readonly #client: Client;
  readonly #prefix: string;
  readonly #options: WorkloadOptions;
  #running = false;
  #loops: Promise<void>[] = [];
  #session: Session | undefined;
  #watch: Watch | undefined;
  #startRevision = 0n;
  #lost: string | undefined;
  #seq = 0;
  #lastAcked: { key: string; at: number } | undefined;

  constructor(client: Client, prefix: string, options: WorkloadOptions = {}) {
    this.#client = client;
    this.#prefix = prefix;
    this.#options = options;
  }

  get keyPrefix(): string {
    return `${this.#prefix}w/`;
  }

  /** Creates the session and the watcher, and starts the loops. */
  async start(): Promise<void> {
    const client = this.#client;
    const session = await createSession(client, { ttl: this.#options.ttl ?? 5 });
    this.#session = session;
    session.lease.on('renewed', () => this.renewals.push(now()));
    session.lease.on('lost', (error) => {
      this.#lost = `${error.reason}: ${error.message}`;
    });
    // The session's key, so the lease has something to keep.
    await client.kv.put(`${this.#prefix}session`, 'alive', { lease: session.leaseId });
    const { header } = await client.kv.get(this.keyPrefix, { prefix: true, countOnly: true });
    this.#startRevision = header.revision + 1n;
    const watch = client.watch(this.keyPrefix, { prefix: true, startRevision: this.#startRevision });
    this.#watch = watch;
    watch.on('event', (event) => {
      this.events.push(now());
      this.seen.push({ key: event.kv.keyText, revision: event.revision, type: event.type });
    });
    watch.on('error', (error) => this.watchProblems.push(`error: ${error.message}`));
    watch.on('end', (reason) => {
      if (this.#running) this.watchProblems.push(`ended while running: ${reason?.message ?? 'cancelled'}`);
    });
    await watch.ready;
    this.#running = true;
    this.#loops = [this.#writeLoop(), this.#readLoop()];
  }

  /** Stops the loops (each finishes its call in flight). */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Ends the watcher and the session (after {@link stop} and {@link verify}). */
  async close(): Promise<void> {
    this.#running = false;
    await this.#watch?.cancel();
    await this.#session?.close();
  }

  /** Successes of each kind within [from, to]. */
  progress(from: number, to: number): Record<ProgressKind, number> {
    const count = (times: number[]) => times.filter((t) => t >= from && t <= to).length;
    return { reads: count(this.reads), writes: count(this.writes), events: count(this.events), renewals: count(this.renewals) };
  }

  /** Asserts that reads, writes and watch events progressed during and after every step, and renewals within each step. */
  assertProgress(steps: readonly Step[]): void {
    const problems: string[] = [];
    for (const step of steps) {
      const during = this.progress(step.faultAt, step.liftedAt);
      const after = this.progress(step.liftedAt, step.until);
      const whole = this.progress(step.faultAt, step.until);
      for (const kind of ['reads', 'writes', 'events'] as const) {
        if (during[kind] === 0) problems.push(`${step.label}: no ${kind} during the fault`);
        if (after[kind] === 0) problems.push(`${step.label}: no ${kind} after the fault`);
      }
      if (whole.renewals === 0) problems.push(`${step.label}: no session renewal`);
    }
    assert.deepEqual(problems, [], `progress: ${problems.join('; ')}\n${this.describeErrors()}`);
  }

  /** The longest gap between two successes of each loop, in ms, over [from, to]. */
  longestStalls(from: number, to: number): Record<ProgressKind, number> {
    const gap = (times: number[]) => {
      let last = from;
      let longest = 0;
      for (const t of times) {
        if (t < from || t > to) continue;
        longest = Math.max(longest, t - last);
        last = t;
      }
      return Math.round(Math.max(longest, to - last));
    };
    return { reads: gap(this.reads), writes: gap(this.writes), events: gap(this.events), renewals: gap(this.renewals) };
  }

  /** The longest gaps between renewals, with when they started (ms since `origin`). */
  renewalGaps(origin: number): string {
    const gaps: [number, number][] = [];
    for (let i = 1; i < this.renewals.length; i++) gaps.push([this.renewals[i]! - this.renewals[i - 1]!, this.renewals[i - 1]! - origin]);
    gaps.sort((a, b) => b[0] - a[0]);
    return gaps.slice(0, 3).map(([gap, at]) => `${Math.round(gap)} ms at +${Math.round(at)} ms`).join(', ');
  }

  describeErrors(): string {
    const summarize = (failures: Failure[]) => {
      const counts = new Map<string, number>();
      for (const f of failures) counts.set(`${f.name}: ${f.message}`, (counts.get(`${f.name}: ${f.message}`) ?? 0) + 1);
      return [...counts].map(([text, n]) => `${n}x ${text}`).join('\n    ');
    };
    return `read errors:\n    ${summarize(this.readErrors)}\nwrite errors:\n    ${summarize(this.writeErrors)}`;
  }

  /**
   * Checks the final state (after {@link stop}): acknowledged writes present at their
   * revision, not-applied writes absent, nothing else present, the watcher's events equal to
   * the prefix's history, no stale read, the session alive. Waits (bounded) for the watcher to
   * catch up with the final revision.
   */
  async verify(waitMs = 15_000): Promise<void> {
    const client = this.#client;
    const final = await client.kv.get(this.keyPrefix, { prefix: true, timeoutMs: waitMs });
    const present = new Map(final.kvs.map((kv) => [kv.keyText, kv.modRevision]));
    const lost = [...this.acked].filter(([key, revision]) => present.get(key) !== revision);
    assert.deepEqual(lost.map(([key]) => key), [], 'acknowledged writes missing or at another revision');
    const appliedAnyway = [...this.notApplied].filter((key) => present.has(key));
    assert.deepEqual(appliedAnyway, [], 'writes reported as not applied exist');
    const unexplained = [...present.keys()].filter((key) => !this.acked.has(key) && !this.ambiguous.has(key));
    assert.deepEqual(unexplained, [], 'keys nobody wrote');
    assert.deepEqual(this.staleReads, [], 'stale reads');

    // The history of the prefix since the watcher started: one put per key, at its revision.
    const history = final.kvs
      .filter((kv) => kv.modRevision >= this.#startRevision)
      .map((kv) => ({ key: kv.keyText, revision: kv.modRevision, type: 'put' }))
      .sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
    const lastRevision = history.at(-1)?.revision ?? 0n;
    const until = now() + waitMs;
    while (now() < until && (this.seen.at(-1)?.revision ?? 0n) < lastRevision) await sleep(20);
    assert.deepEqual(this.watchProblems, [], 'watch problems');
    assert.equal(this.seen.length, history.length, `watcher saw ${this.seen.length} events, history has ${history.length}`);
    assert.deepEqual(this.seen, history, 'the watcher saw exactly the history of the prefix');

    assert.equal(this.#lost, undefined, `the session was lost: ${this.#lost}`);
    assert.equal(this.#session?.alive, true, 'the session is alive');
    const ttl = await client.lease.timeToLive(this.#session!.leaseId);
    assert.ok(ttl.ttl > 0n, `the session's lease exists on the server (ttl ${ttl.ttl})`);
  }

  async #writeLoop(): Promise<void> {
    const pause = this.#options.writePauseMs ?? 10;
    while (this.#running) {
      const seq = ++this.#seq;
      const key = `${this.keyPrefix}${String(seq).padStart(7, '0')}`;
      try {
        const { header } = await this.#client.kv.put(key, `v${seq}`);
        this.acked.set(key, header.revision);
        this.#lastAcked = { key, at: now() };
        this.writes.push(now());
        await sleep(pause);
      } catch (error) {
        this.#recordFailure(this.writeErrors, error);
        if (error instanceof EtcdError && !error.mayHaveBeenApplied) this.notApplied.add(key);
        else this.ambiguous.add(key);
        await sleep(Math.max(pause, 20));
      }
    }
  }

  async #readLoop(): Promise<void> {
    const pause = this.#options.readPauseMs ?? 10;
    while (this.#running) {
      const target = this.#lastAcked;
      try {
        if (target === undefined) await this.#client.kv.get(`${this.#prefix}session`);
        else {
          const { kvs } = await this.#client.kv.get(target.key);
          // Linearizable: a read started after the acknowledgement sees the write.
          if (kvs.length === 0) this.staleReads.push(target.key);
        }
        this.reads.push(now());
        await sleep(pause);
      } catch (error) {
        this.#recordFailure(this.readErrors, error);
        await sleep(Math.max(pause, 20));
      }
    }
  }

  #recordFailure(into: Failure[], error: unknown): void {
    const name = error instanceof Error ? error.name : 'non-error';
    const message = error instanceof Error ? error.message.replace(/127\.0\.0\.1:\d+/g, 'EP') : String(error);
    into.push({ at: now(), name, message });
  }
}
