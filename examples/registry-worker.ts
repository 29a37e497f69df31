/**
 * A worker of the worker/master registry (etcd's getting-started example): it registers
 * itself under `workers/<addr>` with a short TTL that it keeps alive, and stays registered
 * until it is stopped (Ctrl-C or SIGTERM deregister it at once; a crash lets the TTL expire).
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/registry-worker.ts [addr] [name]
 *
 * Without ETCD_ENDPOINTS it starts the bundled server in-process (then it is alone; run
 * examples/registry-master.ts to see several workers). It exits by itself after
 * WORKER_LIFETIME_MS (default 60 s).
 */
import { Client, register } from '../src/index.js';
import { startServer } from '../src/server/index.js';

const addr = process.argv[2] ?? `127.0.0.1:${8000 + (process.pid % 1000)}`;
const name = process.argv[3] ?? `worker-${process.pid}`;
const lifetimeMs = Number(process.env.WORKER_LIFETIME_MS ?? 60_000);
const ttl = 3;

const server = process.env.ETCD_ENDPOINTS ? undefined : await startServer({ host: '127.0.0.1', port: 0 });
const client = new Client({ endpoints: server ? [server.endpoint] : process.env.ETCD_ENDPOINTS!.split(',') });

const registration = await register(client, 'workers', { addr, metadata: { name, pid: process.pid } }, { ttl });
registration
  .on('lost', (error) => console.log(`[${name}] registration lost (${error.reason}); registering again`))
  .on('reregistered', ({ leaseId }) => console.log(`[${name}] registered again on lease ${leaseId.toString(16)}`))
  .on('error', (error) => console.log(`[${name}] re-registration attempt failed: ${error.message}`));
console.log(`[${name}] registered ${registration.key} on lease ${registration.leaseId.toString(16)} (TTL ${ttl} s)`);

let stopping = false;
async function stop(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearTimeout(lifetime);
  await registration.close(); // deletes workers/<addr> at once
  await client.close();
  await server?.close();
  console.log(`[${name}] ${why}: deregistered`);
}
const lifetime = setTimeout(() => void stop(`done after ${lifetimeMs} ms`), lifetimeMs);
process.once('SIGINT', () => void stop('interrupted'));
process.once('SIGTERM', () => void stop('terminated'));
