/**
 * etcdkit in a minute (`npm run demo`): starts the bundled etcd-compatible server on a free
 * loopback port, then uses the typed client to put, get, read a prefix and run a
 * compare-and-swap transaction, watches a prefix, and registers a key under a TTL lease that it
 * lets expire. Closes both and exits 0.
 */
import { Client, Compare, Op } from '../src/index.js';
import { startServer } from '../src/server/index.js';
import { demoDiscovery } from './demo-discovery.js';
import { demoElection } from './demo-election.js';

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const step = (name: string, text: string) =>
  console.log(`${color ? `\x1b[36m${name.padEnd(9)}\x1b[0m` : name.padEnd(9)}  ${text}`);

const server = await startServer({ host: '127.0.0.1', port: 0 });
const client = new Client({ endpoints: [server.endpoint] });
try {
  step('server', `bundled etcd-compatible server listening on ${server.url}`);

  const put = await client.kv.put('greeting', 'hello, etcd');
  step('put', `greeting = "hello, etcd"  (revision ${put.header.revision})`);

  const [kv] = (await client.kv.get('greeting')).kvs;
  step('get', `greeting → "${kv?.valueText}"  (version ${kv?.version}, created at revision ${kv?.createRevision})`);

  for (const fruit of ['apple', 'banana', 'cherry']) await client.kv.put(`fruits/${fruit}`, `${fruit.length} letters`);
  const page = await client.kv.get('fruits/', { prefix: true, limit: 2 });
  const names = page.kvs.map((k) => k.keyText).join(', ');
  step('range', `fruits/* with limit 2 → ${names}  (${page.count} keys in all, more: ${page.more})`);

  await client.kv.put('config/color', 'blue');
  const swapBlueToGreen = () =>
    client.kv
      .txn()
      .if(Compare.value('config/color', '==', 'blue'))
      .then(Op.put('config/color', 'green'))
      .else(Op.get('config/color'))
      .commit();
  const first = await swapBlueToGreen();
  step('txn', `if config/color == "blue" then put "green" → ${first.succeeded ? 'swapped' : 'not swapped'}`);
  const second = await swapBlueToGreen();
  const current = second.responses[0]?.type === 'get' ? second.responses[0].kvs[0]?.valueText : undefined;
  step('txn', `the same again → ${second.succeeded ? 'swapped' : `not swapped; the else branch read "${current}"`}`);

  const removed = await client.kv.delete('fruits/', { prefix: true });
  step('delete', `fruits/* → ${removed.deleted} keys deleted`);

  // A watch sees every change under a prefix, in revision order.
  const watch = client.watch('jobs/', { prefix: true });
  watch.on('event', (e) => step('watch', `${e.type.padEnd(6)} ${e.kv.keyText}  (revision ${e.revision})`));
  await watch.ready;
  await client.kv.put('jobs/1', 'resize images');
  await client.kv.put('jobs/2', 'send emails');
  await client.kv.delete('jobs/1');

  // A key bound to a 2-second lease that nobody keeps alive disappears on its own.
  const lease = await client.lease.grant(2);
  await client.kv.put('jobs/heartbeat', 'alive', { lease: lease.id });
  step('lease', `jobs/heartbeat bound to lease ${lease.id.toString(16)} with a TTL of ${lease.ttl} s; not renewing it`);
  const started = Date.now();
  for await (const item of watch) {
    if (item.type === 'delete' && item.kv.keyText === 'jobs/heartbeat') break;
  }
  step('lease', `jobs/heartbeat expired after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await watch.cancel();

  // Leader election, interoperable with Go's concurrency package and `etcdctl elect`.
  await demoElection(client, (line) => {
    const [name = '', ...rest] = line.split(/\s+/);
    step(name, rest.join(' '));
  });

  // Services register under a lease in Go's endpoints format; discovery follows them live.
  await demoDiscovery(client, (line) => {
    const [name = '', ...rest] = line.split(/\s+/);
    step(name, rest.join(' '));
  });
} finally {
  await client.close();
  await server.close();
}
step('done', 'client and server closed');
