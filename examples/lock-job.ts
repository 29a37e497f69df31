/**
 * A lock-protected job: three workers (each with its own client and session, as separate
 * processes would be) want to rebuild the same index. `withLock` runs the job in one worker at
 * a time, in the order they asked. Each job stops if its lock is lost (the signal), and saves
 * its result with a write fenced on the lock, so a holder that lost the lock can never
 * overwrite a newer holder's result.
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/lock-job.ts
 *
 * Without ETCD_ENDPOINTS it starts the bundled server in-process. It is interoperable with
 * `etcdctl lock etcdkit-example/rebuild-index`: while etcdctl holds it, the workers wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Op, withLock } from '../src/index.js';
import { startServer } from '../src/server/index.js';

const LOCK = 'etcdkit-example/rebuild-index';
const RESULT = 'etcdkit-example/index/last-build';

const server = process.env.ETCD_ENDPOINTS ? undefined : await startServer({ host: '127.0.0.1', port: 0 });
const endpoints = server ? [server.endpoint] : process.env.ETCD_ENDPOINTS!.split(',');
const started = Date.now();
const log = (who: string, text: string) => console.log(`${String(Date.now() - started).padStart(5)} ms  ${who.padEnd(8)}  ${text}`);

async function worker(id: string): Promise<void> {
  const client = new Client({ endpoints });
  try {
    log(id, 'waiting for the lock');
    await withLock(
      client,
      LOCK,
      async (signal, lock) => {
        log(id, `holds the lock (key ${lock.keyText}, fencing token ${lock.fencingToken})`);
        for (let step = 1; step <= 3; step++) await sleep(100, undefined, { signal }); // the work; stops if the lock is lost
        const saved = await client.kv
          .txn()
          .if(lock.ownerCompare()) // only while this acquisition still holds the lock
          .then(Op.put(RESULT, JSON.stringify({ by: id, token: String(lock.fencingToken), at: new Date().toISOString() })))
          .commit({ signal });
        if (!saved.succeeded) throw new Error('the lock was lost before the result was saved');
        log(id, 'saved its result and releases the lock');
      },
      { ttl: 5, timeoutMs: 30_000 }, // a crashed holder blocks the others for at most 5 s
    );
  } finally {
    await client.close();
  }
}

try {
  await Promise.all(['worker-1', 'worker-2', 'worker-3'].map(worker));
  const admin = new Client({ endpoints });
  try {
    const last = (await admin.kv.get(RESULT)).kvs[0];
    log('main', `last build: ${last?.valueText}`);
    await admin.kv.delete('etcdkit-example/', { prefix: true });
  } finally {
    await admin.close();
  }
} finally {
  await server?.close();
}
