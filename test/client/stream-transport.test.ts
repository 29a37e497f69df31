/**
 * The streaming transport (src/balancer/stream-session.ts + the stream seam): bidi streams run
 * on node:http2 directly. Raw HTTP/2 servers play the parts etcd never plays on purpose
 * (split frames, refusals, resets, compressed messages, dropped connections), and a
 * black-holing proxy stands in for a member that went silent.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Invoker } from '../../src/balancer/invoker.js';
import type { BidiStream } from '../../src/balancer/stream.js';
import { StreamSession } from '../../src/balancer/stream-session.js';
import { EtcdError, NoLeaderError, UnavailableError } from '../../src/index.js';
import { parseClientOptions } from '../../src/options.js';
import { frameMessage } from '../../src/protocol/grpc-frames.js';
import type { WatchRequest, WatchResponse } from '../../src/protocol/messages.generated.js';
import { methodDef } from '../../src/protocol/services.js';
import { startServer } from '../../src/server/index.js';
import { TcpProxy } from '../watch/tcp-proxy.js';

const watchDef = methodDef('Watch', 'Watch');
type Stream = BidiStream<WatchRequest, WatchResponse>;

/** A raw HTTP/2 server that hands each Watch stream to `onStream`. */
async function rawServer(onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void) {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    // Only Watch streams are the test's; the client's health probes (unary) are refused.
    if (headers[':path'] === watchDef.path) onStream(stream, headers);
    else stream.respond({ ...grpcHeaders, 'grpc-status': '12' }, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    sessions,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

const grpcHeaders = { ':status': 200, 'content-type': 'application/grpc' };

function watchResponse(watchId: bigint, revision: bigint): Buffer {
  return frameMessage(watchDef.responseSerialize({ header: { revision }, watch_id: watchId, created: true }));
}

function record(stream: Stream) {
  const messages: WatchResponse[] = [];
  const ended = new Promise<EtcdError>((resolve) => stream.listen({ data: (m) => messages.push(m), end: resolve }));
  return { messages, ended };
}

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

function invoker(endpoint: string): Invoker {
  const created = new Invoker(parseClientOptions({ endpoints: [endpoint], dialTimeoutMs: 3000 }));
  closers.push(() => created.close());
  return created;
}

describe('streaming transport over node:http2', { timeout: 30_000 }, () => {
  it('sends gRPC request headers, and reads messages split at every few bytes before the trailers status', async () => {
    let seenHeaders: http2.IncomingHttpHeaders | undefined;
    const server = await rawServer((stream, headers) => {
      seenHeaders = headers;
      stream.respond(grpcHeaders, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '14', 'grpc-message': 'etcdserver:%20no leader' }));
      const wire = Buffer.concat([watchResponse(1n, 10n), watchResponse(2n, 11n), watchResponse(3n, 12n)]);
      for (let i = 0; i < wire.length; i += 3) stream.write(wire.subarray(i, i + 3));
      stream.end();
    });
    closers.push(server.close);
    const stream = await invoker(server.endpoint).openStream('Watch', 'Watch', { requireLeader: true });
    const seen = record(stream);
    const error = await seen.ended;
    assert.deepEqual(
      seen.messages.map((m) => [m.watch_id, m.header?.revision]),
      [
        [1n, 10n],
        [2n, 11n],
        [3n, 12n],
      ],
    );
    assert.ok(error instanceof NoLeaderError, `${error.name}: ${error.message}`);
    assert.equal(error.etcdMessage, 'etcdserver: no leader');
    assert.equal(seenHeaders?.[':path'], '/etcdserverpb.Watch/Watch');
    assert.equal(seenHeaders?.['content-type'], 'application/grpc');
    assert.equal(seenHeaders?.te, 'trailers');
    assert.equal(seenHeaders?.hasleader, 'true');
  });

  it('turns a trailers-only refusal, an HTTP error status and a reset into classified errors', async () => {
    const behaviours: Array<(stream: http2.ServerHttp2Stream) => void> = [
      (s) => s.respond({ ...grpcHeaders, 'grpc-status': '12', 'grpc-message': 'unknown service' }, { endStream: true }),
      (s) => s.respond({ ':status': 503 }, { endStream: true }),
      (s) => s.close(http2.constants.NGHTTP2_REFUSED_STREAM),
    ];
    let next = 0;
    const server = await rawServer((stream) => behaviours[next++]!(stream));
    closers.push(server.close);
    const client = invoker(server.endpoint);
    const ends: EtcdError[] = [];
    for (let i = 0; i < behaviours.length; i++) ends.push(await record(await client.openStream('Watch', 'Watch')).ended);
    assert.deepEqual(
      ends.map((e) => [e.code, e.retryable]),
      [
        [12, false],
        [14, true],
        [14, true],
      ],
    );
    assert.match(ends[0]!.etcdMessage, /unknown service/);
    assert.match(ends[1]!.etcdMessage, /HTTP status code 503/);
    assert.match(ends[2]!.etcdMessage, /refused/);
  });

  it('fails the stream with INTERNAL on a compressed message, and resets it', async () => {
    let serverClosed!: () => void;
    const closed = new Promise<void>((resolve) => (serverClosed = resolve));
    const server = await rawServer((stream) => {
      stream.respond(grpcHeaders);
      const bad = watchResponse(1n, 5n);
      bad[0] = 1;
      stream.write(Buffer.concat([watchResponse(7n, 4n), bad]));
      stream.on('close', serverClosed);
    });
    closers.push(server.close);
    const seen = record(await invoker(server.endpoint).openStream('Watch', 'Watch'));
    const error = await seen.ended;
    assert.equal(seen.messages.length, 1, 'the good message before it was delivered');
    assert.equal(error.code, 13);
    assert.equal(error.retryable, false);
    assert.match(error.message, /compressed/);
    await closed;
  });

  it('ends streams with a retryable UnavailableError when the connection drops, and opens a new connection after', async () => {
    const server = await rawServer((stream) => {
      stream.respond(grpcHeaders);
      stream.write(watchResponse(1n, 1n));
    });
    closers.push(server.close);
    const client = invoker(server.endpoint);
    const first = record(await client.openStream('Watch', 'Watch'));
    const second = record(await client.openStream('Watch', 'Watch'));
    for (let i = 0; i < 100 && first.messages.length + second.messages.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    // Streams share one HTTP/2 connection (the grpc-js channel for unary calls is another one).
    const streamSessions = () => server.sessions.filter((s) => !s.destroyed);
    assert.equal(streamSessions().length, 2, 'one session for the channel, one for both streams');
    for (const session of server.sessions) session.destroy();
    for (const seen of [first, second]) {
      const error = await seen.ended;
      assert.ok(error instanceof UnavailableError, `${error.name}: ${error.message}`);
      assert.equal(error.retryable, true);
      assert.match(error.etcdMessage, /Connection dropped/);
    }
    // The endpoint's channel reconnects; a new stream gets a new connection and works.
    const third = record(await client.openStream('Watch', 'Watch'));
    for (let i = 0; i < 100 && third.messages.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(third.messages.length, 1);
  });

  it('closes its connection with the client, leaving no session open on the server', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => server.close());
    const proxy = await TcpProxy.start(server.endpoint);
    closers.push(() => proxy.close());
    const client = new Invoker(parseClientOptions({ endpoints: [proxy.endpoint] }));
    const stream = await client.openStream('Watch', 'Watch');
    const seen = record(stream);
    stream.write({ create_request: { key: Buffer.from('k') } });
    for (let i = 0; i < 100 && seen.messages.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.messages.length, 1);
    assert.equal(proxy.accepted, 2, 'one connection for unary calls, one for streams');
    assert.ok(proxy.open > 0);
    await client.close();
    assert.equal((await seen.ended).name, 'ClientClosedError');
    for (let i = 0; i < 100 && proxy.open > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(proxy.open, 0, 'every connection was closed');
  });
});

describe('stream session keepalive', { timeout: 30_000 }, () => {
  it('keeps a quiet stream open while pings are answered, and drops the connection when they stop', async () => {
    const server = await startServer({ host: '127.0.0.1', port: 0 });
    closers.push(() => server.close());
    const proxy = await TcpProxy.start(server.endpoint);
    closers.push(() => proxy.close());
    const [host, port] = proxy.endpoint.split(':') as [string, string];
    const session = new StreamSession({ address: proxy.endpoint, host, port: Number(port) }, { keepaliveTimeMs: 100, keepaliveTimeoutMs: 150 });
    closers.push(async () => session.close());
    const { stream, failure } = session.request(watchDef.path, {});
    let closedAt = 0;
    const closed = new Promise<void>((resolve) =>
      stream.once('close', () => {
        closedAt = Date.now();
        resolve();
      }),
    );
    stream.on('error', () => {});
    stream.write(frameMessage(watchDef.requestSerialize({ create_request: { key: Buffer.from('k') } })));
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(stream.closed, false, 'answered pings keep the stream');
    const silentAt = Date.now();
    proxy.blackhole();
    await closed;
    const waited = closedAt - silentAt;
    assert.ok(waited >= 100 && waited < 2000, `dropped ${waited} ms after the peer went silent`);
    assert.equal(failure(), 'keepalive ping not answered within 150 ms');
  });

  it('reports a refused connection as the failure of its streams', async () => {
    const server = await rawServer(() => {});
    const endpoint = server.endpoint;
    await server.close();
    const [host, port] = endpoint.split(':') as [string, string];
    const session = new StreamSession({ address: endpoint, host, port: Number(port) }, { keepaliveTimeMs: 10_000, keepaliveTimeoutMs: 5000 });
    const { stream, failure } = session.request(watchDef.path, {});
    stream.on('error', () => {});
    await new Promise<void>((resolve) => stream.once('close', resolve));
    assert.equal(failure(), 'connection refused');
    session.close();
  });
});
