import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { GrpcCode } from '../../src/protocol/error-table.js';
import { startServer } from '../../src/server/index.js';
import { RpcClient, b, s } from './rpc-client.js';

/**
 * Retries a call while the client's channel is still backing off from the outage (grpc-js
 * fails calls fast in TRANSIENT_FAILURE); bounded in count and time.
 */
async function untilUp<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const unavailable = (err as { code?: number }).code === GrpcCode.UNAVAILABLE;
      if (!unavailable || attempt >= 100 || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('startServer defaults: loopback, a free port, endpoint and url', async () => {
  const server = await startServer();
  try {
    assert.ok(server.port > 0);
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.endpoint, `127.0.0.1:${server.port}`);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(server.running, true);
  } finally {
    await server.close();
  }
});

test('bad options are rejected with an error naming the option', async () => {
  await assert.rejects(startServer({ port: -1 }), (err: Error) => err instanceof TypeError && /option "port"/.test(err.message));
  await assert.rejects(startServer({ port: 70000 }), /option "port": expected an integer from 0 to 65535, got number 70000/);
  await assert.rejects(startServer({ port: 1.5 }), /option "port"/);
  await assert.rejects(startServer({ port: '2379' as unknown as number }), /option "port".*got "2379"/);
  await assert.rejects(startServer({ host: '' }), /option "host"/);
  await assert.rejects(startServer({ hots: 'x' } as never), /unknown option "hots" \(known options: host, port, name\b/);
  await assert.rejects(startServer(42 as never), /expected an options object/);
});

test('a taken port gives a clear error', async () => {
  const first = await startServer();
  try {
    await assert.rejects(startServer({ port: first.port }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}`));
  } finally {
    await first.close();
  }
});

test('stop() then start() is a restart on the same port with the store kept', async () => {
  const server = await startServer({ name: 'm1' });
  const rpc = new RpcClient(server.endpoint);
  try {
    await rpc.call('KV', 'Put', { key: b('kept'), value: b('1') });
    await rpc.call('KV', 'Put', { key: b('kept'), value: b('2') });
    const before = await rpc.call('KV', 'Range', { key: b('kept') });
    const port = server.port;
    await server.stop();
    assert.equal(server.running, false);
    const down = await rpc.fail('KV', 'Range', { key: b('kept') });
    assert.equal(down.code, GrpcCode.UNAVAILABLE);
    await server.stop(); // idempotent
    await server.start();
    assert.equal(server.port, port);
    const after = await untilUp(() => rpc.call('KV', 'Range', { key: b('kept') }));
    assert.equal(after.header!.revision, before.header!.revision);
    assert.equal(s(after.kvs[0]!.value), '2');
    assert.equal(after.kvs[0]!.version, 2n);
    assert.equal(after.header!.member_id, before.header!.member_id);
    assert.equal(after.header!.cluster_id, before.header!.cluster_id);
    assert.ok(after.header!.raft_term > before.header!.raft_term, 'a restart starts a new term');
    // history survives too
    const old = await rpc.call('KV', 'Range', { key: b('kept'), revision: 2n });
    assert.equal(s(old.kvs[0]!.value), '1');
    await server.start(); // no-op while running
  } finally {
    rpc.close();
    await server.close();
  }
});

test('close() is final and idempotent, and frees the port', async () => {
  const server = await startServer();
  const port = server.port;
  await server.close();
  await server.close();
  await assert.rejects(server.start(), /after close/);
  // the port can be bound again right away
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
});

test('concurrent stop/start/close calls are serialized', async () => {
  const server = await startServer();
  const rpc = new RpcClient(server.endpoint);
  try {
    await Promise.all([server.stop(), server.start(), server.stop(), server.start()]);
    assert.equal(server.running, true);
    await rpc.call('KV', 'Put', { key: b('x'), value: b('y') });
  } finally {
    rpc.close();
    await Promise.all([server.close(), server.close()]);
  }
});

test('stop() cancels a call that never finishes and still returns', async () => {
  const { connect, constants } = await import('node:http2');
  const server = await startServer();
  const session = connect(server.url);
  try {
    session.on('error', () => undefined);
    // a unary call whose request body never ends: the server waits for it forever
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/etcdserverpb.KV/Range',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    await new Promise((r) => setTimeout(r, 50));
    await server.stop();
    await closed;
    assert.equal(server.running, false);
  } finally {
    session.destroy();
    await server.close();
  }
});
