/**
 * A child process for the lock and election tests (run with `node --import tsx`):
 *
 *   worker.ts lock-loop '{"endpoint","name","counter","rounds","ttl","holdMs","id"}'
 *     takes the lock `rounds` times, running the shared critical section (workload.ts) each
 *     time, and prints one JSON record per step on stdout;
 *   worker.ts leader '{"endpoint","name","value","ttl","id"}'
 *     campaigns, prints {"ev":"elected",...} once elected, and leads until killed;
 *   worker.ts leak-check '{"endpoint","name","id"}'
 *     leaves locks held, waiters waiting, a campaign and an observer running, closes the
 *     client, prints {"ev":"closed"} and must then exit by itself (nothing left behind).
 *
 * Every step is bounded: the process exits on its own after `maxLifeMs` at the latest.
 */
import { Client, createSession, Election, Mutex } from '../../src/index.js';
import type { Session } from '../../src/index.js';
import { criticalSection, now } from './workload.js';
import type { WorkRecord } from './workload.js';

const maxLifeMs = 60_000;

interface Args {
  endpoint: string;
  name: string;
  id: string;
  ttl: number;
  counter?: string;
  rounds?: number;
  holdMs?: number;
  value?: string;
}

function emit(record: WorkRecord | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function session(client: Client, ttl: number): Promise<Session> {
  return createSession(client, { ttl });
}

async function lockLoop(client: Client, args: Args): Promise<void> {
  let current = await session(client, args.ttl);
  for (let round = 0; round < (args.rounds ?? 1); round++) {
    if (!current.alive) current = await session(client, args.ttl);
    try {
      const lock = await new Mutex(current, args.name).lock({ timeoutMs: 30_000 });
      const token = lock.fencingToken.toString();
      emit({ ev: 'acquired', id: args.id, token, t: now() });
      emit(await criticalSection(client, lock, args.counter!, args.id, args.holdMs ?? 2));
      emit({ ev: 'released', id: args.id, token, t: now() });
      await lock.unlock();
    } catch (error) {
      emit({ ev: 'error', id: args.id, message: error instanceof Error ? error.message : String(error) });
    }
  }
  await current.close();
  emit({ ev: 'done', id: args.id });
}

async function lead(client: Client, args: Args): Promise<void> {
  const own = await session(client, args.ttl);
  const term = await new Election(own, args.name).campaign(args.value ?? args.id);
  emit({ ev: 'elected', id: args.id, rev: term.revision.toString(), t: now() });
  const lost = await term.lost;
  emit({ ev: 'lost', id: args.id, reason: lost.reason, t: now() });
}

async function leakCheck(client: Client, args: Args): Promise<void> {
  const [a, b] = await Promise.all([session(client, 5), session(client, 5)]);
  const held = await new Mutex(a, args.name).lock();
  const waiter = new Mutex(b, args.name);
  await waiter.lock({ timeoutMs: 100 }).catch(() => undefined);
  await waiter.lock({ signal: AbortSignal.timeout(100) }).catch(() => undefined);
  await waiter.tryLock();
  const pending = waiter.lock().catch((error: unknown) => error);
  const election = new Election(a, `${args.name}-election`);
  await election.campaign('a');
  const campaign = new Election(b, `${args.name}-election`).campaign('b').catch((error: unknown) => error);
  const observer = election.observe();
  const observing = (async () => {
    for await (const _kv of observer) {
      // follow until the client closes
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await client.close();
  const results = await Promise.all([pending, campaign, observing]);
  emit({ ev: 'closed', id: args.id, held: held.held, results: results.map((r) => (r instanceof Error ? r.name : String(r))) });
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const args = JSON.parse(json ?? '{}') as Args;
  const client = new Client({ endpoints: [args.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
  const life = setTimeout(() => {
    emit({ ev: 'error', id: args.id, message: `worker alive after ${maxLifeMs} ms` });
    process.exit(3);
  }, maxLifeMs);
  life.unref();
  try {
    if (mode === 'lock-loop') await lockLoop(client, args);
    else if (mode === 'leader') await lead(client, args);
    else if (mode === 'leak-check') await leakCheck(client, args);
    else throw new Error(`unknown mode ${mode}`);
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  emit({ ev: 'error', id: 'main', message: error instanceof Error ? error.stack ?? error.message : String(error) });
  process.exitCode = 1;
});
