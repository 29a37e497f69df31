/**
 * Typed configuration that is always current: `watchConfig` validates every key under a
 * prefix with a zod schema, applies valid changes as they happen, and keeps the last good
 * value when someone stores an invalid one.
 *
 *   npx tsx examples/config-watcher.ts                                 (bundled server)
 *   ETCD_ENDPOINTS=127.0.0.1:2379 npx tsx examples/config-watcher.ts  (writes, then deletes, etcdkit-example/config/*)
 */
import { z } from 'zod';
import { Client, watchConfig } from '../src/index.js';
import { startServer } from '../src/server/index.js';

const server = process.env.ETCD_ENDPOINTS ? undefined : await startServer({ host: '127.0.0.1', port: 0 });
const client = new Client({ endpoints: server ? [server.endpoint] : process.env.ETCD_ENDPOINTS!.split(',') });
const prefix = 'etcdkit-example/config/';

const Database = z.object({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  poolSize: z.number().int().positive().default(10),
});

// The setting exists before the watcher starts: it is part of the first read.
await client.kv.put(`${prefix}primary`, JSON.stringify({ host: 'db1.internal', port: 5432 }));

const config = watchConfig(client, prefix, Database);
config
  .on('change', ({ name, value, revision }) =>
    console.log(value === undefined ? `config ${name}: removed (revision ${revision})` : `config ${name}: ${JSON.stringify(value)} (revision ${revision})`),
  )
  .on('invalid', ({ name, error, kept }) =>
    console.log(`config ${name}: REJECTED, keeping ${JSON.stringify(kept)}\n    ${error.message}`),
  );

/** Writes a value and waits until the watcher has seen it. */
async function write(name: string, value: string): Promise<void> {
  const { header } = await client.kv.put(prefix + name, value);
  while (config.revision < header.revision) await new Promise((resolve) => setTimeout(resolve, 10));
}

try {
  await config.ready;
  console.log(`ready at revision ${config.revision}: primary → ${JSON.stringify(config.get('primary'))}`);

  await write('primary', JSON.stringify({ host: 'db1.internal', port: 'five thousand' }));
  console.log(`in use now: ${JSON.stringify(config.get('primary'))}; errors: ${[...config.errors().keys()].join(', ')}`);

  await write('primary', JSON.stringify({ host: 'db2.internal', port: 5433, poolSize: 20 }));
  await write('replica', JSON.stringify({ host: 'db3.internal', port: 5432 }));
  console.log(`settings: ${JSON.stringify(Object.fromEntries(config.values()))}`);

  const { header } = await client.kv.delete(prefix, { prefix: true });
  while (config.revision < header.revision) await new Promise((resolve) => setTimeout(resolve, 10));
} finally {
  await config.close();
  await client.close();
  await server?.close();
}
