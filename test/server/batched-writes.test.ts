/**
 * The server's batched stream writes (src/server/grpc/batched-writes.ts): a burst of responses
 * goes out together, in order, with backpressure intact; and, on the bundled server, a burst
 * of watch events reaches a watcher in a few HTTP/2 DATA frames rather than one per event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { frameMessage, MessageReader } from '../../src/protocol/grpc-frames.js';
import { methodDef } from '../../src/protocol/services.js';
import { batchedWriter } from '../../src/server/grpc/batched-writes.js';
import { startServer } from '../../src/server/index.js';
import { RpcClient, b } from './rpc-client.js';

/**
 * A stream shaped like grpc-js's server streams: objectMode, high-water mark 16, and a
 * `_write` that completes a loop turn later, as an HTTP/2 write does.
 */
class TurnStream extends Writable {
  readonly written: number[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor() {
    super({ objectMode: true, highWaterMark: 16 });
  }

  override _write(chunk: number, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.written.push(chunk);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    setImmediate(() => {
      this.inFlight--;
      done();
    });
  }
}

test('a burst written in one turn is handed on at once, in order', async () => {
  const stream = new TurnStream();
  const write = batchedWriter<number>(stream, 64);
  for (let i = 0; i < 40; i++) assert.equal(write(i), true, `write ${i} reports room`);
  assert.deepEqual(stream.written, [], 'nothing is handed on before the turn ends');
  await nextTurn();
  await nextTurn();
  assert.deepEqual(stream.written, Array.from({ length: 40 }, (_, i) => i));
  assert.equal(stream.maxInFlight, 40, 'the whole burst was in flight together, not one message per turn');
  // a later burst goes the same way, after the first
  for (let i = 40; i < 50; i++) write(i);
  await nextTurn();
  await nextTurn();
  assert.deepEqual(stream.written.slice(40), Array.from({ length: 10 }, (_, i) => 40 + i));
});

test('backpressure: false once `limit` responses wait, then a drain', async () => {
  const stream = new TurnStream();
  const write = batchedWriter<number>(stream, 20);
  const answers = Array.from({ length: 20 }, (_, i) => write(i));
  assert.deepEqual(answers.slice(0, 19), Array(19).fill(true));
  assert.equal(answers[19], false, 'the 20th waiting response fills the limit');
  const drained = new Promise<void>((resolve) => stream.once('drain', resolve));
  await drained;
  assert.equal(stream.writableLength, 0);
  assert.equal(stream.written.length, 20);
  assert.equal(write(20), true, 'room again after the drain');
});

test('a limit below the stream high-water mark is refused (no drain would follow)', () => {
  assert.throws(() => batchedWriter(new TurnStream(), 8), /limit 8 is below the stream's high-water mark/);
});

test('bundled server: a burst of 60 writes reaches a watcher in a few DATA frames, in order', async () => {
  const server = await startServer();
  const rpc = new RpcClient(server.endpoint);
  const session = http2.connect(`http://${server.endpoint}`);
  session.on('error', () => undefined);
  try {
    const def = methodDef('Watch', 'Watch');
    const stream = session.request({ ':method': 'POST', ':path': def.path, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    const reader = new MessageReader();
    const keys: string[] = [];
    const revisions: bigint[] = [];
    let frames = 0;
    let created!: () => void;
    const isCreated = new Promise<void>((resolve) => (created = resolve));
    let allSeen!: () => void;
    const seenAll = new Promise<void>((resolve) => (allSeen = resolve));
    stream.on('data', (chunk: Buffer) => {
      frames++;
      reader.push(chunk, (bytes: Buffer) => {
        const response = def.responseDeserialize(bytes);
        if (response.created) created();
        for (const ev of response.events) {
          keys.push(Buffer.from(ev.kv!.key).toString());
          revisions.push(ev.kv!.mod_revision);
        }
        if (keys.length === 60) allSeen();
      });
    });
    stream.write(frameMessage(def.requestSerialize({ create_request: { key: b('burst/'), range_end: b('burst0') } })));
    await isCreated;
    const framesBefore = frames;
    const names = Array.from({ length: 60 }, (_, i) => `burst/${String(i).padStart(2, '0')}`);
    // one connection, all puts sent together: the server applies them in a few turns
    await Promise.all(names.map((key) => rpc.call('KV', 'Put', { key: b(key), value: b('v') })));
    await seenAll;
    assert.deepEqual([...keys].sort(), names, 'every write seen once');
    for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, 'in revision order');
    const burstFrames = frames - framesBefore;
    // grpc-js alone sends one message per HTTP/2 write, a turn apart: 60 frames for 60 events
    assert.ok(burstFrames <= 15, `60 events came in ${burstFrames} DATA frames (expected a few)`);
    stream.close();
  } finally {
    session.destroy();
    rpc.close();
    await server.close();
  }
});
