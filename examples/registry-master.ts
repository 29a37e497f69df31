/**
 * The master of the worker/master registry (etcd's getting-started example): it watches
 * `workers/` and prints workers as they join and leave.
 *
 *   npx tsx examples/registry-master.ts
 *     starts the bundled server, spawns three workers (examples/registry-worker.ts), then
 *     crashes one (SIGKILL: it disappears when its 3 s TTL runs out) and stops one cleanly
 *     (SIGTERM: it deregisters at once), and exits once the last one is gone (about 5 s).
 *
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/registry-master.ts
 *     watches a real cluster for MASTER_WATCH_MS (default 60 s) or until Ctrl-C; start
 *     workers yourself with examples/registry-worker.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, discover } from '../src/index.js';
import { startServer } from '../src/server/index.js';

const server = process.env.ETCD_ENDPOINTS ? undefined : await startServer({ host: '127.0.0.1', port: 0 });
const endpoints = server ? [server.endpoint] : process.env.ETCD_ENDPOINTS!.split(',');
const client = new Client({ endpoints });
const started = Date.now();
const log = (text: string) => console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${text}`);

const workers = discover(client, 'workers');
workers
  .on('change', (change) => {
    const { addr, metadata } = change.instance;
    const who = (metadata as { name?: string } | null)?.name ?? addr;
    const sign = { added: '+ joined ', removed: '- left   ', updated: '~ changed' }[change.type];
    log(`${sign} ${who.padEnd(8)} ${addr}  (${workers.size} up)`);
  })
  .on('invalid', (entry) => log(`! ignoring ${entry.key}: ${entry.error.message}`))
  .on('disconnected', () => log('connection to etcd lost; catching up when it is back'));
await workers.ready;
log(`watching workers/ on ${endpoints.join(',')} (${workers.size} workers now)`);

const children: ChildProcess[] = [];
const until = (condition: () => boolean, ms: number) =>
  new Promise<void>((resolve) => {
    const deadline = Date.now() + ms;
    const timer = setInterval(() => {
      if (condition() || Date.now() > deadline) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });

try {
  if (server) {
    const script = fileURLToPath(new URL('./registry-worker.ts', import.meta.url));
    for (const [i, name] of ['alpha', 'beta', 'gamma'].entries()) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, `127.0.0.1:900${i}`, name], {
        env: { ...process.env, ETCD_ENDPOINTS: server.endpoint, WORKER_LIFETIME_MS: '30000' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
    }
    await until(() => workers.size === 3, 15_000);
    log('crashing alpha (SIGKILL): its key goes when the TTL runs out');
    children[0]!.kill('SIGKILL');
    await until(() => workers.size === 2, 10_000);
    log('stopping beta (SIGTERM): it deregisters at once');
    children[1]!.kill('SIGTERM');
    await until(() => workers.size === 1, 10_000);
    children[2]!.kill('SIGTERM');
    await until(() => workers.size === 0, 10_000);
  } else {
    const watchMs = Number(process.env.MASTER_WATCH_MS ?? 60_000);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, watchMs);
      process.once('SIGINT', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
} finally {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await workers.close();
  await client.close();
  await server?.close();
  log('master done');
}
