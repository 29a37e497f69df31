/**
 * Scalar types etcd does not use (sint*, fixed*, sfixed*, float, double, unpacked repeated):
 * the codec compilers run on a synthetic schema and are compared with protobufjs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { compileDecoder, Reader, type DecoderSlot } from '../../src/protocol/decoder.js';
import { compileEncoder, type EncoderSlot } from '../../src/protocol/encoder.js';
import type { FieldSchema, MessageSchema, WireType } from '../../src/protocol/schema-types.js';
import { canon } from './pb-reference.js';

const PROTO = `
syntax = "proto3";
package t;
message All {
  double d = 1; float f = 2; int32 i32 = 3; int64 i64 = 4; uint32 u32 = 5; uint64 u64 = 6;
  sint32 s32 = 7; sint64 s64 = 8; fixed32 fx32 = 9; fixed64 fx64 = 10; sfixed32 sfx32 = 11;
  sfixed64 sfx64 = 12; bool b = 13; string s = 14; bytes by = 15;
  repeated sint64 rs64 = 16; repeated fixed32 rfx32 = 17; repeated double rd = 18;
  repeated sint32 rs32u = 19 [packed = false]; repeated sfixed64 rsfx64 = 24; repeated float rf = 25;
  oneof o { sint32 os32 = 20; fixed64 ofx64 = 21; double od = 22; }
  All child = 23;
  repeated uint64 ru64 = 2047;
}`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
root.resolveAll();
const All = root.lookupType('t.All');

const WIRE: Record<string, WireType> = {
  double: 1, float: 5, fixed32: 5, sfixed32: 5, fixed64: 1, sfixed64: 1, string: 2, bytes: 2, message: 2,
};

function schemaOf(t: protobuf.Type): MessageSchema {
  const fields: FieldSchema[] = t.fieldsArray.map((f) => {
    const type = f.resolvedType ? 'message' : (f.type as FieldSchema['type']);
    return {
      name: f.name,
      number: f.id,
      type,
      wireType: WIRE[type] ?? 0,
      repeated: f.repeated,
      packed: f.repeated && (WIRE[type] ?? 0) !== 2 && f.packed,
      ...(f.resolvedType ? { ref: 't.All' } : {}),
      ...(f.partOf ? { oneof: f.partOf.name } : {}),
    };
  });
  return { name: 't.All', fields, oneofs: t.oneofsArray.map((o) => ({ name: o.name, fields: o.oneof })) };
}

const schema = schemaOf(All);
const dec: DecoderSlot = { fn: () => ({}) };
dec.fn = compileDecoder(schema, () => dec);
const enc: EncoderSlot = { size: () => 0, write: () => {} };
Object.assign(enc, compileEncoder(schema, () => enc));

function encode(msg: Record<string, unknown>): Buffer {
  const S: number[] = [];
  const n = enc.size(msg, S);
  const w = { buf: Buffer.alloc(n), pos: 0, si: 0, S };
  enc.write(msg, w);
  assert.equal(w.pos, n);
  return w.buf;
}
const decode = (b: Buffer): Record<string, unknown> => dec.fn(new Reader(b), b.length);

function toPb(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const conv = (e: unknown): unknown =>
      typeof e === 'bigint' ? e.toString() : e && typeof e === 'object' && !(e instanceof Uint8Array) ? toPb(e as Record<string, unknown>) : e;
    out[k] = Array.isArray(x) ? x.map(conv) : conv(x);
  }
  return out;
}
const pbDecode = (b: Uint8Array): unknown => All.toObject(All.decode(b), { longs: String, defaults: true, arrays: true });

function roundTrip(msg: Record<string, unknown>): Record<string, unknown> {
  const ours = encode(msg);
  const theirs = Buffer.from(All.encode(All.fromObject(toPb(msg))).finish());
  assert.equal(ours.toString('hex'), theirs.toString('hex'));
  const decoded = decode(ours);
  assert.deepEqual(canon(decoded), canon(pbDecode(ours)));
  assert.deepEqual(canon(decode(theirs)), canon(decoded));
  return decoded;
}

describe('codec scalar types (synthetic schema)', () => {
  it('every scalar type at extremes', () => {
    const m = roundTrip({
      d: -1.5e300,
      f: 3.5,
      i32: -2147483648,
      i64: -(2n ** 63n),
      u32: 4294967295,
      u64: 2n ** 64n - 1n,
      s32: -2147483648,
      s64: -(2n ** 63n),
      fx32: 4294967295,
      fx64: 2n ** 64n - 1n,
      sfx32: -2147483648,
      sfx64: -(2n ** 63n),
      b: true,
      s: 'héllo ✓ 𝄞',
      by: Buffer.from([0, 255, 1]),
    });
    assert.equal(m['s64'], -(2n ** 63n));
    assert.equal(m['fx64'], 2n ** 64n - 1n);
    assert.equal(m['s'], 'héllo ✓ 𝄞');
    roundTrip({ s32: 2147483647, s64: 2n ** 63n - 1n, sfx32: 2147483647, sfx64: 2n ** 63n - 1n, i32: 2147483647, d: Number.MIN_VALUE });
    roundTrip({ s32: -1, s64: -1n, i64: -1n, i32: -1, d: Number.POSITIVE_INFINITY, f: -0.25 });
  });

  it('repeated packed and unpacked, large field numbers, oneofs and recursion', () => {
    const m = roundTrip({
      rs64: [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n],
      rfx32: [0, 1, 4294967295],
      rd: [0, -0.5, 1e10],
      rs32u: [0, -1, 5, -2147483648],
      rsfx64: [-(2n ** 63n), 7n],
      rf: [1.5, -2],
      ru64: [2n ** 64n - 1n, 0n, 300n],
      os32: 0,
      child: { od: 0, child: { ofx64: 0n, s: 'deep' } },
    });
    assert.deepEqual(m['rs32u'], [0, -1, 5, -2147483648]);
    assert.equal(m['os32'], 0);
    assert.equal((m['child'] as Record<string, unknown>)['od'], 0);
    // Unpacked field 19 carries one tag per element; packed field 16 a single tag.
    const bytes = encode({ rs32u: [1, 2], rs64: [1n, 2n] });
    assert.equal(bytes.toString('hex'), '8201020204' + '980102' + '980104');
  });

  it('packed fields decode from unpacked input and vice versa', () => {
    // rs64 (packed by default) sent unpacked: tag (16<<3|0) = 0x80 0x01.
    assert.deepEqual(decode(Buffer.from([0x80, 0x01, 0x03, 0x80, 0x01, 0x04]))['rs64'], [-2n, 2n]);
    // rs32u (unpacked) sent packed: tag (19<<3|2) = 0x9a 0x01.
    assert.deepEqual(decode(Buffer.from([0x9a, 0x01, 0x02, 0x03, 0x04]))['rs32u'], [-2, 2]);
    // fixed32 packed with a length that is not a multiple of 4 fails cleanly.
    assert.throws(() => decode(Buffer.from([0x8a, 0x01, 0x03, 1, 2, 3])), /truncated|overruns/);
  });

  it('float and double defaults are skipped, negative zero is kept', () => {
    assert.equal(encode({ d: 0, f: 0 }).length, 0);
    assert.equal(encode({ d: -0 }).length, 9);
    assert.ok(Object.is(decode(encode({ d: -0 }))['d'], -0));
  });
});
