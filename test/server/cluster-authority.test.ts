/**
 * The cluster front's `:authority` rewriter (src/server/cluster/authority-fix.ts), checked
 * against Node's own HTTP/2 server: raw client bytes as etcdctl 3.4 sends them (a Huffman
 * coded `http://host:port` authority) pass through the rewriter one byte at a time, and
 * nghttp2 must accept them and see `host:port`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { AuthorityFix } from '../../src/server/cluster/authority-fix.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../src/server/cluster/hpack-huffman.js';
import { within } from './cluster-harness.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** An HPACK string literal, Huffman coded (RFC 7541 §5.2). */
function huffman(text: string): Buffer {
  let bits = '';
  for (const c of Buffer.from(text, 'latin1')) bits += HUFFMAN_CODES[c]!.toString(2).padStart(HUFFMAN_LENGTHS[c]!, '0');
  while (bits.length % 8 !== 0) bits += '1';
  const bytes = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  assert.ok(bytes.length < 127);
  return Buffer.concat([Buffer.from([0x80 | bytes.length]), bytes]);
}

const raw = (text: string): Buffer => Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);

/** GET / with the given `:authority` field bytes (after :method, :scheme, :path by static index). */
const requestBlock = (authority: Buffer): Buffer => Buffer.concat([Buffer.from([0x82, 0x86, 0x84]), authority]);

/** Sends `bytes` (after the preface and an empty SETTINGS) to a Node HTTP/2 server; returns what it saw. */
async function serverSees(bytes: Buffer[], opts: { fix: boolean }): Promise<{ authorities: string[]; resets: number }> {
  const authorities: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    authorities.push(String(headers[':authority']));
    stream.respond({ ':status': 200 });
    stream.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const socket = connect({ host: '127.0.0.1', port });
  let received = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => (received = Buffer.concat([received, c])));
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const all = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), ...bytes]);
    if (opts.fix) {
      const fix = new AuthorityFix();
      for (let i = 0; i < all.length; i++) for (const piece of fix.push(all.subarray(i, i + 1))) socket.write(piece);
    } else {
      socket.write(all);
    }
    // every request ends in a response HEADERS or a RST_STREAM: wait for one per stream
    const expected = bytes.length;
    await within(
      (async () => {
        for (let i = 0; i < 500 && countFrames(received, [1, 3]) < expected; i++) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'the server answering',
    );
    return { authorities, resets: countFrames(received, [3]) };
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Counts frames of the given types on streams > 0 in server-to-client bytes. */
function countFrames(bytes: Buffer, types: number[]): number {
  let n = 0;
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    if (types.includes(bytes[at + 3]!) && bytes.readUInt32BE(at + 5) !== 0) n++;
  }
  return n;
}

test('without the rewriter, nghttp2 resets a request whose :authority carries a scheme', async () => {
  const block = requestBlock(Buffer.concat([Buffer.from([0x41]), huffman('http://127.0.0.1:1234')]));
  const seen = await serverSees([frame(1, 0x5, 1, block)], { fix: false });
  assert.deepEqual(seen, { authorities: [], resets: 1 });
});

test('the rewriter turns a Huffman-coded http:// authority into host:port, also when reused from the table', async () => {
  const first = requestBlock(Buffer.concat([Buffer.from([0x41]), huffman('http://127.0.0.1:1234')]));
  // the second request refers to the entry the first one added (dynamic index 62)
  const second = requestBlock(Buffer.from([0xbe]));
  const seen = await serverSees([frame(1, 0x5, 1, first), frame(1, 0x5, 3, second)], { fix: true });
  assert.deepEqual(seen, { authorities: ['127.0.0.1:1234', '127.0.0.1:1234'], resets: 0 });
});

test('the rewriter handles padding, priority, CONTINUATION and raw literals; leaves good authorities alone', async () => {
  // literal without indexing, raw value, in a PADDED + PRIORITY HEADERS frame
  const padded = requestBlock(Buffer.concat([Buffer.from([0x01]), raw('https://example.test:2379/')]));
  const withPadAndPriority = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 15]), padded, Buffer.alloc(3)]);
  // a literal name ":authority", never indexed, split across HEADERS + CONTINUATION
  const literalName = requestBlock(Buffer.concat([Buffer.from([0x10]), raw(':authority'), huffman('http://[::1]:2379')]));
  const cut = 5;
  const good = requestBlock(Buffer.concat([Buffer.from([0x41]), huffman('127.0.0.1:9')]));
  const seen = await serverSees(
    [
      frame(1, 0x1 | 0x4 | 0x8 | 0x20, 1, withPadAndPriority),
      Buffer.concat([frame(1, 0x1, 3, literalName.subarray(0, cut)), frame(9, 0x4, 3, literalName.subarray(cut))]),
      frame(1, 0x5, 5, good),
    ],
    { fix: true },
  );
  assert.deepEqual(seen, { authorities: ['example.test:2379', '[::1]:2379', '127.0.0.1:9'], resets: 0 });
});

test('the rewriter passes bytes through unchanged when there is nothing to fix', () => {
  const fix = new AuthorityFix();
  const block = requestBlock(Buffer.concat([Buffer.from([0x41]), huffman('127.0.0.1:9')]));
  const input = Buffer.concat([
    PREFACE,
    frame(4, 0, 0, Buffer.alloc(0)),
    frame(1, 0x4, 1, block),
    frame(0, 0x1, 1, Buffer.from('hello')),
    frame(6, 0, 0, Buffer.alloc(8)),
  ]);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += 7) out.push(...fix.push(input.subarray(i, i + 7)));
  assert.ok(Buffer.concat(out).equals(input));
});

test('the rewriter leaves a stream that is not HTTP/2 alone', () => {
  const fix = new AuthorityFix();
  const input = Buffer.from('GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' + 'x'.repeat(100));
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += 5) out.push(...fix.push(input.subarray(i, i + 5)));
  assert.ok(Buffer.concat(out).equals(input));
});
