/**
 * Closing leases and the client leaves no timer, stream or socket behind. Alone in its file:
 * it compares the process's active resources.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, createSession } from '../../src/index.js';
import { keepAliveStats } from '../../src/lease/lease-client.js';
import { ManualClock, startServer } from '../../src/server/index.js';
import { sleep, until } from './fake-keepalive.js';

const resources = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r !== 'Immediate')
    .sort();

describe('lease cleanup', { timeout: 30_000 }, () => {
  it('lease.close() and client.close() leave no timer or socket behind', async () => {
    // The server's clock is manual so its own lease-expiry timers do not count as ours.
    const server = await startServer({ host: '127.0.0.1', port: 0, clock: new ManualClock(Date.now()) });
    try {
      const baseline = resources();
      const client = new Client({ endpoints: [server.endpoint] });
      const leases = await Promise.all(Array.from({ length: 20 }, () => client.lease.create(10)));
      const session = await createSession(client, { ttl: 10 });
      await client.lease.keepAliveOnce(leases[0]!.id);
      await until(() => keepAliveStats(client.lease).streamOpen, 5000, 'stream open');
      for (const lease of leases) lease.close();
      assert.equal(keepAliveStats(client.lease).kept, 1, 'only the session is kept');
      await session.close();
      assert.equal(keepAliveStats(client.lease).kept, 0);
      await until(() => !keepAliveStats(client.lease).streamOpen, 2000, 'stream closed with no lease left');

      // A lease still kept alive when the client closes is lost with `client-closed`.
      const last = await client.lease.create(10);
      await client.close();
      assert.equal(last.lostError?.reason, 'client-closed');
      for (let i = 0; i < 100 && resources().length > baseline.length; i++) await sleep(10);
      assert.deepEqual(resources(), baseline);
    } finally {
      await server.close();
    }
  });
});
