/**
 * A short tour of service registration and discovery for the demo: two instances register
 * under `demo/api` with a lease, discovery sees them join, one leaves, and the other is
 * deregistered on close. Run alone with `npx tsx examples/demo-discovery.ts` (bundled server).
 */
import { pathToFileURL } from 'node:url';
import { Client, discover, register } from '../src/index.js';
import type { DiscoveryChange } from '../src/index.js';

/** Prints a few lines showing registration and discovery; leaves nothing behind in etcd. */
export async function demoDiscovery(client: Client, print: (line: string) => void = console.log): Promise<void> {
  const service = 'demo/api';
  const api = discover(client, service);
  const seen: DiscoveryChange[] = [];
  api.on('change', (change) => {
    seen.push(change);
    const { addr, metadata } = change.instance;
    print(`discovery  ${change.type.padEnd(7)} ${addr}  ${JSON.stringify(metadata)}  (${api.size} up)`);
  });
  const settled = async (count: number) => {
    for (let i = 0; i < 200 && seen.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  try {
    await api.ready;
    const east = await register(client, service, { addr: '10.0.0.1:8080', metadata: { zone: 'east' } }, { ttl: 5 });
    const west = await register(client, service, { addr: '10.0.0.2:8080', metadata: { zone: 'west' } }, { ttl: 5 });
    await settled(2);
    const stored = (await client.kv.get(east.key)).kvs[0];
    print(`register   ${east.key} = ${stored?.valueText}  (Go's endpoints format, lease ${east.leaseId.toString(16)})`);
    print(`discovery  addresses: ${api.addresses().join(', ')}`);
    await east.close(); // deregisters at once
    await settled(3);
    await west.close();
    await settled(4);
  } finally {
    await api.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startServer } = await import('../src/server/index.js');
  const server = await startServer({ host: '127.0.0.1', port: 0 });
  const client = new Client({ endpoints: [server.endpoint] });
  try {
    await demoDiscovery(client);
  } finally {
    await client.close();
    await server.close();
  }
}
