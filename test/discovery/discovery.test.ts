/**
 * Registration and discovery against the bundled server and etcd 3.4: workers in child
 * processes register, die and come back; a registration whose lease is revoked behind its
 * back registers again; close() deregisters at once; and the stored format is Go's
 * naming/endpoints format, both ways, checked through etcdctl.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { Client, ClientClosedError, discover, EtcdError, InvalidArgumentError, LeaseLostError, register } from '../../src/index.js';
import type { DiscoveryChange, InvalidEntry, Registration, Reregistered } from '../../src/index.js';
import { etcdctl } from '../harness/etcdctl.js';
import { forEachServer } from '../harness/servers.js';
import { failOnUnhandled, sleep, until } from '../watch/helpers.js';
import { TcpProxy } from '../watch/tcp-proxy.js';
import { WorkerProcess } from './worker-process.js';

const ttl = 2;

interface Seen {
  readonly change: DiscoveryChange;
  readonly at: number;
}

forEachServer('service discovery', (ctx) => {
  failOnUnhandled();

  it('sees workers register, die (removed within TTL + 1 s) and register again', { timeout: 60_000 }, async (t) => {
    const service = `${ctx.prefix()}workers`;
    const discovery = discover(ctx.client, service);
    const seen: Seen[] = [];
    discovery.on('change', (change) => seen.push({ change, at: Date.now() }));
    const workers = new Map<string, WorkerProcess>();
    const start = (addr: string) => {
      const worker = new WorkerProcess({ endpoint: ctx.server.endpoint, service, addr, ttl, metadata: { addr } });
      workers.set(addr, worker);
      return worker;
    };
    const addrs = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'];
    try {
      await discovery.ready;
      await Promise.all(addrs.map((addr) => start(addr).waitFor('registered')));
      await until(() => discovery.size === 3, () => `instances: ${discovery.addresses().join(', ')}`, 10_000);
      assert.deepEqual(discovery.addresses(), addrs);
      assert.deepEqual(discovery.snapshot()[0]!.metadata, { addr: addrs[0] });

      // Two workers die without deregistering; each is removed when its lease expires.
      const victims = [addrs[0]!, addrs[2]!];
      const deaths = new Map<string, number>();
      await Promise.all(
        victims.map(async (addr) => {
          await workers.get(addr)!.kill('SIGKILL');
          deaths.set(addr, Date.now());
        }),
      );
      const removedAt = (addr: string) =>
        seen.find((s) => s.change.type === 'removed' && s.change.instance.addr === addr && s.at >= deaths.get(addr)! - 50)?.at;
      await until(() => victims.every((addr) => removedAt(addr) !== undefined), () => `removed: ${describe(seen)}`, (ttl + 3) * 1000);
      for (const addr of victims) {
        const delay = removedAt(addr)! - deaths.get(addr)!;
        t.diagnostic(`${addr} removed ${delay} ms after its worker died`);
        assert.ok(delay <= ttl * 1000 + 1000, `${addr} removed ${delay} ms after its worker died (bound ${ttl * 1000 + 1000} ms)`);
      }
      assert.deepEqual(discovery.addresses(), [addrs[1]]);

      // One comes back at the same address: added again.
      const mark = seen.length;
      await start(addrs[0]!).waitFor('registered');
      await until(
        () => seen.slice(mark).some((s) => s.change.type === 'added' && s.change.instance.addr === addrs[0]),
        () => `after restart: ${describe(seen.slice(mark))}`,
        10_000,
      );
      assert.deepEqual(discovery.addresses(), [addrs[0], addrs[1]]);

      // The listener log replays to exactly the current instances and to a fresh read.
      const replayed = new Map<string, string>();
      for (const { change } of seen) {
        if (change.type === 'removed') replayed.delete(change.instance.key);
        else replayed.set(change.instance.key, change.instance.addr);
      }
      assert.deepEqual([...replayed.values()].sort(), discovery.addresses());
      const fresh = await ctx.client.kv.get(`${service}/`, { prefix: true });
      assert.deepEqual(
        fresh.kvs.map((kv) => kv.keyText),
        discovery.snapshot().map((instance) => instance.key),
      );
    } finally {
      await discovery.close();
      await Promise.all([...workers.values()].map((worker) => worker.kill('SIGKILL')));
    }
  });

  it('re-registers after its lease is revoked by another client, and close() deregisters at once', { timeout: 30_000 }, async () => {
    const service = `${ctx.prefix()}api`;
    const other = new Client({ endpoints: [ctx.server.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
    const registration = await register(ctx.client, service, { addr: '10.1.0.1:8080', metadata: { zone: 'a' } }, { ttl });
    try {
      assert.equal(registration.key, `${service}/10.1.0.1:8080`);
      assert.equal(registration.state, 'registered');
      const lost: LeaseLostError[] = [];
      const reregistered: Reregistered[] = [];
      registration.on('lost', (error) => lost.push(error)).on('reregistered', (info) => reregistered.push(info));
      const first = registration.leaseId;
      const stored = (await ctx.client.kv.get(registration.key)).kvs[0];
      assert.equal(stored?.lease, first);

      await other.lease.revoke(first);
      await until(() => reregistered.length === 1, () => `lost: ${lost.length}, state ${registration.state}`, (ttl + 3) * 1000);
      assert.equal(lost.length, 1);
      assert.ok(lost[0] instanceof LeaseLostError);
      assert.equal(lost[0].reason, 'expired');
      assert.equal(lost[0].leaseId, first);
      const second = reregistered[0]!;
      assert.equal(second.previousLeaseId, first);
      assert.notEqual(second.leaseId, first);
      assert.equal(registration.leaseId, second.leaseId);
      assert.equal(registration.state, 'registered');
      const again = (await ctx.client.kv.get(registration.key)).kvs[0];
      assert.equal(again?.lease, second.leaseId);
      assert.equal(again?.valueText, '{"Op":0,"Addr":"10.1.0.1:8080","Metadata":{"zone":"a"}}');

      await registration.close();
      assert.equal((await other.kv.get(registration.key)).kvs.length, 0, 'the key is gone as soon as close() resolved');
      assert.equal((await other.lease.timeToLive(second.leaseId)).ttl, -1n, 'the lease is revoked');
      assert.equal(registration.state, 'closed');
      assert.ok(registration.signal.aborted);
      await registration.close(); // idempotent
    } finally {
      await registration.close();
      await other.close();
    }
  });

  it('re-registers after losing its connection for longer than the TTL', { timeout: 30_000 }, async () => {
    const service = `${ctx.prefix()}cut`;
    const proxy = await TcpProxy.start(ctx.server.endpoint);
    const cutOff = new Client({ endpoints: [proxy.endpoint], dialTimeoutMs: 1000, timeoutMs: 2000 });
    const registration = await register(cutOff, service, { addr: '10.2.0.1:80' }, { ttl, retry: { minDelayMs: 50, maxDelayMs: 500 } });
    const lost: LeaseLostError[] = [];
    const errors: EtcdError[] = [];
    const reregistered: Reregistered[] = [];
    registration
      .on('lost', (error) => lost.push(error))
      .on('error', (error) => errors.push(error))
      .on('reregistered', (info) => reregistered.push(info));
    try {
      const first = registration.leaseId;
      proxy.block();
      proxy.cut();
      await until(() => lost.length === 1, () => `state ${registration.state}`, (ttl + 3) * 1000);
      assert.equal(lost[0]!.reason, 'deadline');
      assert.equal(registration.state, 'reregistering');
      await until(() => errors.length >= 1, () => 'no failed attempt reported', 10_000);
      assert.ok(errors.every((error) => error instanceof EtcdError));
      // Meanwhile the server expired the old lease, deleting the key.
      let gone = false;
      for (let i = 0; i < 50 && !gone; i++) {
        gone = (await ctx.client.kv.get(registration.key)).kvs.length === 0;
        if (!gone) await sleep(100);
      }
      assert.ok(gone, 'the server expired the old lease and its key');
      proxy.unblock();
      await until(() => reregistered.length === 1, () => `errors: ${errors.map((e) => e.message).join('; ')}`, 15_000);
      assert.equal(registration.state, 'registered');
      assert.notEqual(registration.leaseId, first);
      const stored = (await ctx.client.kv.get(registration.key)).kvs[0];
      assert.equal(stored?.lease, registration.leaseId);
      await registration.close();
      assert.equal((await ctx.client.kv.get(registration.key)).kvs.length, 0);
    } finally {
      await registration.close();
      await cutOff.close();
      await proxy.close();
    }
  });

  it('iterates the instances present, then the changes (net change per instance when behind)', { timeout: 30_000 }, async () => {
    const service = `${ctx.prefix()}iter`;
    const a = await register(ctx.client, service, { addr: 'a:1' });
    const discovery = discover(ctx.client, service);
    const others: Registration[] = [];
    try {
      await discovery.ready;
      const iterator = discovery[Symbol.asyncIterator]();
      const next = async () => {
        const result = await iterator.next();
        assert.equal(result.done, false);
        const change = result.value as DiscoveryChange;
        return `${change.type} ${change.instance.addr}`;
      };
      assert.equal(await next(), 'added a:1');
      const pending = next();
      others.push(await register(ctx.client, service, { addr: 'b:1' }));
      assert.equal(await pending, 'added b:1');
      await a.close();
      assert.equal(await next(), 'removed a:1');
      // Not reading: c comes and goes (cancels out), d comes.
      const c = await register(ctx.client, service, { addr: 'c:1' });
      await c.close();
      others.push(await register(ctx.client, service, { addr: 'd:1' }));
      await until(() => discovery.size === 2, () => `instances: ${discovery.addresses().join(', ')}`);
      assert.equal(await next(), 'added d:1');
      const ending = iterator.next();
      await discovery.close();
      assert.deepEqual(await ending, { done: true, value: undefined });

      // Aborting the signal ends iterations too.
      const controller = new AbortController();
      const bySignal = discover(ctx.client, service, { signal: controller.signal });
      const drained: string[] = [];
      const loop = (async () => {
        for await (const change of bySignal) drained.push(`${change.type} ${change.instance.addr}`);
      })();
      await bySignal.ready;
      await until(() => drained.length === 2, () => `drained: ${drained.join(', ')}`);
      controller.abort();
      await loop;
      assert.deepEqual(drained.sort(), ['added b:1', 'added d:1']);
      assert.equal(bySignal.state, 'closed');
    } finally {
      await discovery.close();
      await a.close();
      await Promise.all(others.map((r) => r.close()));
    }
  });

  it('ends registration and discovery when their client closes', async () => {
    const service = `${ctx.prefix()}closing`;
    const own = new Client({ endpoints: [ctx.server.endpoint] });
    const registration = await register(own, service, { addr: 'z:1' }, { ttl });
    const discovery = discover(own, service);
    await discovery.ready;
    const failures: EtcdError[] = [];
    discovery.on('error', (error) => failures.push(error));
    await own.close();
    await until(() => registration.state === 'closed' && discovery.state === 'failed', () => `${registration.state}, ${discovery.state}`);
    assert.ok(registration.signal.reason instanceof ClientClosedError);
    assert.ok(failures[0] instanceof ClientClosedError);
    assert.deepEqual(discovery.addresses(), ['z:1'], 'the last known instances stay readable');
    await registration.close();
    await discovery.close();
    await assert.rejects(register(own, service, { addr: 'y:1' }), ClientClosedError);
  });

  it('rejects bad input before writing anything', async () => {
    const service = `${ctx.prefix()}bad`;
    const schema = z.object({ weight: z.number().int().positive() });
    await assert.rejects(
      register(ctx.client, service, { addr: '10.0.0.1:1', metadata: { weight: -1 } }, { metadataSchema: schema }),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'endpoint.metadata' && /weight/.test(error.message),
    );
    await assert.rejects(register(ctx.client, service, { addr: '' }), (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'endpoint.addr');
    await assert.rejects(register(ctx.client, `${service}/`, { addr: 'x:1' }), (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'service');
    await assert.rejects(register(ctx.client, service, { addr: 'x:1' }, { ttl: 1.5 }), (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'options.ttl');
    await assert.rejects(
      register(ctx.client, service, { addr: 'x:1', metadata: { n: 1n } }),
      (error: unknown) => error instanceof InvalidArgumentError && error.argument === 'metadata.n',
    );
    assert.throws(() => discover(ctx.client, ''), InvalidArgumentError);
    assert.equal((await ctx.client.kv.get(service, { prefix: true })).kvs.length, 0, 'nothing was written');
  });

  it("reads and writes Go's naming/endpoints format (checked with etcdctl)", { timeout: 30_000 }, async () => {
    const service = `${ctx.prefix()}go`;
    const endpoint = ctx.server.endpoint;
    const put = async (key: string, value: string) => {
      const result = await etcdctl(endpoint, ['put', key, value]);
      assert.equal(result.code, 0, result.stderr);
    };
    // As Go's endpoints manager (and the old grpc naming format) writes them.
    await put(`${service}/10.0.0.1:80`, '{"Op":0,"Addr":"10.0.0.1:80","Metadata":{"zone":"a","weight":2}}');
    await put(`${service}/10.0.0.2:80`, '{"Op":0,"Addr":"10.0.0.2:80","Metadata":null}');
    await put(`${service}/junk`, 'not json');

    const discovery = discover(ctx.client, service, { metadataSchema: z.object({ zone: z.string() }).nullable() });
    const invalid: InvalidEntry[] = [];
    discovery.on('invalid', (entry) => invalid.push(entry));
    try {
      await discovery.ready;
      assert.deepEqual(
        discovery.snapshot().map(({ key, addr, metadata }) => ({ key, addr, metadata })),
        [
          { key: `${service}/10.0.0.1:80`, addr: '10.0.0.1:80', metadata: { zone: 'a' } },
          { key: `${service}/10.0.0.2:80`, addr: '10.0.0.2:80', metadata: null },
        ],
      );
      assert.deepEqual(invalid.map((entry) => entry.key), [`${service}/junk`]);

      // Go's decoder matches field names case-insensitively; wrong types are skipped.
      await put(`${service}/10.0.0.3:80`, '{"op":0,"addr":"10.0.0.3:80","metadata":{"zone":"b"},"extra":true}');
      await put(`${service}/10.0.0.4:80`, '{"Op":0,"Addr":42}');
      await put(`${service}/10.0.0.5:80`, '{"Op":0,"Addr":"10.0.0.5:80","Metadata":{"zone":7}}');
      await until(() => invalid.length === 3, () => `invalid: ${invalid.map((e) => e.key).join(', ')}`);
      assert.deepEqual(discovery.addresses(), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
      assert.match(invalid[1]!.error.message, /Addr must be a string/);
      assert.match(invalid[2]!.error.message, /metadata that does not match the schema: zone/);

      const deleted = await etcdctl(endpoint, ['del', `${service}/10.0.0.1:80`]);
      assert.equal(deleted.code, 0, deleted.stderr);
      await until(() => discovery.size === 2, () => `instances: ${discovery.addresses().join(', ')}`);

      // What we write reads back with etcdctl byte for byte as Go's manager writes it.
      const ours = await register(ctx.client, service, { addr: '10.0.0.9:90', metadata: { zone: 'c', weight: 5, html: '<a&b>', version: '1.2.3' } });
      const bare = await register(ctx.client, service, { addr: '10.0.0.10:90' });
      try {
        const read = async (key: string) => {
          const result = await etcdctl(endpoint, ['get', key, '--print-value-only']);
          assert.equal(result.code, 0, result.stderr);
          return result.stdout;
        };
        assert.equal(
          await read(ours.key),
          '{"Op":0,"Addr":"10.0.0.9:90","Metadata":{"html":"\\u003ca\\u0026b\\u003e","version":"1.2.3","weight":5,"zone":"c"}}\n',
        );
        assert.equal(await read(bare.key), '{"Op":0,"Addr":"10.0.0.10:90","Metadata":null}\n');
        const keys = await etcdctl(endpoint, ['lease', 'timetolive', ours.leaseId.toString(16), '--keys']);
        assert.ok(keys.stdout.includes(ours.key), `the key is bound to the lease: ${keys.stdout}`);
        await until(() => discovery.size === 4, () => `instances: ${discovery.addresses().join(', ')}`);
      } finally {
        await ours.close();
        await bare.close();
      }
    } finally {
      await discovery.close();
    }
  });
});

function describe(seen: readonly Seen[]): string {
  return seen.map((s) => `${s.change.type} ${s.change.instance.addr}`).join(', ');
}
