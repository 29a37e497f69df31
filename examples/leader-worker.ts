/**
 * A leader-elected worker: several instances run; exactly one (the leader) does the work, and
 * when it stops or dies another takes over. The leader stops working the moment its term ends
 * (the term's signal), and fences every write on its leadership, so a deposed leader can never
 * overwrite its successor's state.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/leader-worker.ts [name]
 *     one worker; start several (Ctrl-C or SIGTERM resigns at once, a crash lets the TTL expire).
 *     Watch it with `etcdctl elect -l etcdkit-example/leader-worker`.
 *
 * Without ETCD_ENDPOINTS it starts the bundled server and runs two workers in-process; the
 * leader "crashes" (its client is closed without resigning) and the other takes over once the
 * crashed one's session TTL has run out. It exits by itself after WORKER_LIFETIME_MS (default
 * 60 s with ETCD_ENDPOINTS, 7 s otherwise).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, createSession, Election, Op, SessionExpiredError } from '../src/index.js';
import type { Leadership } from '../src/index.js';
import { startServer } from '../src/server/index.js';

const ELECTION = 'etcdkit-example/leader-worker';
const STATE = 'etcdkit-example/leader-worker-state';
const TTL = 3;

const started = Date.now();
const log = (who: string, text: string) => console.log(`${String(Date.now() - started).padStart(5)} ms  ${who.padEnd(9)}  ${text}`);

/** Campaigns, leads while elected, campaigns again after losing, until `stop` aborts. */
async function runWorker(client: Client, id: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    const session = await createSession(client, { ttl: TTL });
    try {
      const election = new Election(session, ELECTION);
      log(id, 'campaigning');
      const term = await election.campaign(id, { signal: stop });
      log(id, `elected (fencing token ${term.revision})`);
      term.on('lost', (error) => log(id, `no longer leader: ${error.reason}`));
      await lead(client, id, term, stop);
      await term.resign(); // no-op if the term already ended
    } catch (error) {
      if (stop.aborted) break;
      if (!(error instanceof SessionExpiredError)) throw error;
      log(id, 'session ended while campaigning; starting over');
    } finally {
      await session.close();
    }
  }
}

/** The leader's work: a fenced write every half second, until the term ends or `stop` aborts. */
async function lead(client: Client, id: string, term: Leadership, stop: AbortSignal): Promise<void> {
  const signal = AbortSignal.any([term.signal, stop]);
  for (let tick = 1; !signal.aborted; tick++) {
    const written = await client.kv.txn().if(term.leaderCompare()).then(Op.put(STATE, `tick ${tick} by ${id}`)).commit();
    if (!written.succeeded) break; // deposed between two ticks
    log(id, `working: tick ${tick}`);
    await sleep(500, undefined, { signal }).catch(() => undefined);
  }
}

if (process.env.ETCD_ENDPOINTS) {
  const client = new Client({ endpoints: process.env.ETCD_ENDPOINTS.split(',') });
  const stop = new AbortController();
  const lifetime = setTimeout(() => stop.abort(), Number(process.env.WORKER_LIFETIME_MS ?? 60_000));
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  try {
    await runWorker(client, process.argv[2] ?? `worker-${process.pid}`, stop.signal);
  } finally {
    clearTimeout(lifetime);
    await client.close();
  }
} else {
  const server = await startServer({ host: '127.0.0.1', port: 0 });
  const stop = new AbortController();
  const clients = [0, 1].map(() => new Client({ endpoints: [server.endpoint] }));
  try {
    const workers = clients.map((client, i) => runWorker(client, `worker-${i + 1}`, stop.signal).catch((error: unknown) => error));
    await sleep(1500);
    log('main', 'worker-1 crashes (its client closes, its session is not revoked)');
    await clients[0]!.close();
    await sleep(Number(process.env.WORKER_LIFETIME_MS ?? 7000) - 1500);
    stop.abort();
    await Promise.all(workers);
    const admin = new Client({ endpoints: [server.endpoint] });
    log('main', `last state: ${(await admin.kv.get(STATE)).kvs[0]?.valueText}`);
    await admin.kv.delete(STATE);
    await admin.close();
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await server.close();
  }
}
