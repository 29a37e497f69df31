/**
 * gRPC framing (src/protocol/grpc-frames.ts): length-prefixed messages cut out of DATA chunks
 * at every possible split, and the status read from headers, HTTP statuses and resets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codeForHttpStatus,
  decodeGrpcMessage,
  FramingError,
  frameMessage,
  MessageReader,
  refusedResponse,
  statusForReset,
  statusFromHeaders,
} from '../../src/protocol/grpc-frames.js';
import { GrpcCode } from '../../src/protocol/error-table.js';

const messages = [Buffer.from('first message'), Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(300, 7)];
const wire = Buffer.concat(messages.map(frameMessage));

function readAll(chunks: Buffer[]): Buffer[] {
  const reader = new MessageReader();
  const out: Buffer[] = [];
  for (const chunk of chunks) reader.push(chunk, (m) => out.push(Buffer.from(m)));
  assert.equal(reader.partial, false, 'nothing left over');
  return out;
}

describe('gRPC message framing', () => {
  it('frames a message behind a 5-byte prefix (flag 0, big-endian length)', () => {
    const framed = frameMessage(Buffer.from('abc'));
    assert.deepEqual([...framed], [0, 0, 0, 0, 3, 97, 98, 99]);
  });

  it('reads messages from one chunk, from single bytes, and from every two-way and three-way split', () => {
    assert.deepEqual(readAll([wire]), messages);
    assert.deepEqual(readAll([...wire].map((b) => Buffer.from([b]))), messages);
    for (let i = 0; i <= wire.length; i++) {
      assert.deepEqual(readAll([wire.subarray(0, i), wire.subarray(i)]), messages, `split at ${i}`);
    }
    for (let i = 0; i <= wire.length; i += 3) {
      for (let j = i; j <= wire.length; j += 7) {
        assert.deepEqual(readAll([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]), messages, `splits ${i}/${j}`);
      }
    }
  });

  it('hands over a message that lies whole in one chunk as a view of it', () => {
    const reader = new MessageReader();
    let seen: Buffer | undefined;
    reader.push(wire, (m) => (seen ??= m));
    assert.equal(seen!.buffer, wire.buffer);
  });

  it('keeps a partial message until the rest comes', () => {
    const reader = new MessageReader();
    const out: Buffer[] = [];
    reader.push(wire.subarray(0, 8), (m) => out.push(m));
    assert.equal(out.length, 0);
    assert.equal(reader.partial, true);
    reader.push(wire.subarray(8), (m) => out.push(m));
    assert.equal(out.length, messages.length);
  });

  it('refuses compressed messages and invalid flags with a FramingError', () => {
    const compressed = frameMessage(Buffer.from('z'));
    compressed[0] = 1;
    assert.throws(() => new MessageReader().push(compressed, () => {}), (e: unknown) => e instanceof FramingError && /compressed/.test(e.message));
    const odd = frameMessage(Buffer.from('z'));
    odd[0] = 9;
    assert.throws(() => new MessageReader().push(odd, () => {}), /invalid compressed flag 9/);
    // Also behind a message completed from carried-over bytes, and when the prefix is split.
    const reader = new MessageReader();
    reader.push(frameMessage(Buffer.from('ok')).subarray(0, 6), () => {});
    assert.throws(() => reader.push(Buffer.from([107, 1, 0, 0, 0, 1, 122]), () => {}), FramingError);
    const split = new MessageReader();
    split.push(Buffer.from([1, 0]), () => {});
    assert.throws(() => split.push(Buffer.from([0, 0, 1, 122]), () => {}), FramingError);
  });
});

describe('gRPC status from headers', () => {
  it('reads grpc-status and the percent-decoded grpc-message', () => {
    assert.deepEqual(statusFromHeaders({ 'grpc-status': '14', 'grpc-message': 'etcdserver: no leader' }), {
      code: 14,
      details: 'etcdserver: no leader',
    });
    assert.deepEqual(statusFromHeaders({ 'grpc-status': '0' }), { code: 0, details: '' });
    assert.equal(statusFromHeaders({ ':status': 200 }), undefined);
    assert.equal(statusFromHeaders({ 'grpc-status': '99' })!.code, GrpcCode.UNKNOWN);
    assert.equal(decodeGrpcMessage('caf%C3%A9 100%25'), 'café 100%');
    assert.equal(decodeGrpcMessage('bad %zz escape'), 'bad %zz escape');
  });

  it('maps refused responses, HTTP statuses and resets as gRPC specifies', () => {
    assert.equal(refusedResponse({ ':status': 200, 'content-type': 'application/grpc' }), undefined);
    assert.equal(refusedResponse({ ':status': 200, 'content-type': 'application/grpc+proto' }), undefined);
    assert.equal(refusedResponse({ ':status': 200, 'content-type': 'text/html' })!.code, GrpcCode.UNKNOWN);
    assert.deepEqual(refusedResponse({ ':status': 503 }), { code: GrpcCode.UNAVAILABLE, details: 'Received HTTP status code 503' });
    assert.deepEqual(
      [400, 401, 403, 404, 429, 502, 503, 504, 500].map(codeForHttpStatus),
      [13, 16, 7, 12, 14, 14, 14, 14, 2],
    );
    assert.equal(statusForReset(7).code, GrpcCode.UNAVAILABLE);
    assert.equal(statusForReset(8).code, GrpcCode.CANCELLED);
    assert.equal(statusForReset(11).code, GrpcCode.RESOURCE_EXHAUSTED);
    assert.equal(statusForReset(12).code, GrpcCode.PERMISSION_DENIED);
    assert.deepEqual(statusForReset(2), { code: GrpcCode.INTERNAL, details: 'Received RST_STREAM with code 2' });
  });
});
