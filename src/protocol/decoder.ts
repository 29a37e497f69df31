/**
 * Protobuf decoding: wire-level readers plus a compiler that turns a message schema into a
 * specialised decoder function (generated once per message with `new Function`, then cached).
 * Only `codec.ts` uses this module.
 */
import { CodecError } from './codec-error.js';
import type { FieldSchema, MessageSchema } from './schema-types.js';

/** Read position over one input buffer (Buffer for fast string/float reads). */
export class Reader {
  pos = 0;
  readonly len: number;
  readonly ab: ArrayBufferLike;
  readonly off: number;
  constructor(readonly buf: Buffer) {
    this.len = buf.length;
    this.ab = buf.buffer;
    this.off = buf.byteOffset;
  }
}

/** Shared default for absent/empty bytes fields (zero length, so it cannot be mutated). */
const EMPTY = new Uint8Array(0);

/** Preallocated bigints for one-byte varints (most versions, small ids). */
const SMALL: bigint[] = Array.from({ length: 128 }, (_, i) => BigInt(i));

function truncated(r: Reader): never {
  throw new CodecError(`truncated input at byte ${r.pos} of ${r.len}`);
}

/** High 32 bits of the last `readVarint64` result. */
let hi = 0;

/** Read a full varint (up to 10 bytes); returns the low 32 bits unsigned, sets `hi`. */
function readVarint64(r: Reader): number {
  const buf = r.buf;
  const len = r.len;
  let pos = r.pos;
  let lo = 0;
  let b: number;
  hi = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= len) truncated(r);
    b = buf[pos++]!;
    lo |= (b & 127) << shift;
    if (b < 128) {
      r.pos = pos;
      return lo >>> 0;
    }
  }
  if (pos >= len) truncated(r);
  b = buf[pos++]!;
  lo |= (b & 15) << 28;
  hi = (b & 127) >> 4;
  if (b < 128) {
    r.pos = pos;
    return lo >>> 0;
  }
  for (let shift = 3; shift < 32; shift += 7) {
    if (pos >= len) truncated(r);
    b = buf[pos++]!;
    hi |= (b & 127) << shift;
    if (b < 128) {
      r.pos = pos;
      hi >>>= 0;
      return lo >>> 0;
    }
  }
  r.pos = pos;
  throw new CodecError(`varint longer than 10 bytes ending at byte ${pos}`);
}

/** Varint as uint32 (low 32 bits; the whole varint is consumed). */
function u32(r: Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  if (pos + 10 <= r.len) {
    let b = buf[pos++]!;
    let v = b & 127;
    if (b < 128) {
      r.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 127) << 7;
    if (b < 128) {
      r.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 127) << 14;
    if (b < 128) {
      r.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 127) << 21;
    if (b < 128) {
      r.pos = pos;
      return v;
    }
    b = buf[pos++]!;
    v |= (b & 15) << 28;
    // Up to five more bytes carry only high bits (e.g. negative int32).
    for (let i = 0; i < 5 && b >= 128; i++) b = buf[pos++]!;
    if (b >= 128) {
      r.pos = pos;
      throw new CodecError(`varint longer than 10 bytes ending at byte ${pos}`);
    }
    r.pos = pos;
    return v >>> 0;
  }
  return readVarint64(r);
}

/** Varint as int32 (two's complement of the low 32 bits). */
function i32(r: Reader): number {
  return u32(r) | 0;
}

/** Zigzag-encoded int32. */
function s32(r: Reader): number {
  const n = u32(r);
  return (n >>> 1) ^ -(n & 1);
}

/**
 * The number-only fast path of 64-bit varints: the value when the varint has at most 7 bytes
 * (below 2^49) and the reader advanced past it, or -1 with the reader untouched otherwise.
 */
function smallVarint64(r: Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  if (pos + 10 > r.len) return -1;
  let b = buf[pos++]!;
  let n = b & 127;
  let mul = 128;
  for (let i = 1; b >= 128 && i < 7; i++) {
    b = buf[pos++]!;
    n += (b & 127) * mul;
    mul *= 128;
  }
  if (b >= 128) return -1;
  r.pos = pos;
  return n;
}

/** A small varint as bigint (cached below 128). */
function smallBigInt(n: number): bigint {
  return n < 128 ? SMALL[n]! : BigInt(n);
}

/** Varint as int64. Values below 2^49 take a number-only path. */
function i64(r: Reader): bigint {
  const n = smallVarint64(r);
  if (n >= 0) return smallBigInt(n);
  const lo = readVarint64(r);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/** Varint as uint64. */
function u64(r: Reader): bigint {
  const n = smallVarint64(r);
  if (n >= 0) return smallBigInt(n);
  const lo = readVarint64(r);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Zigzag-encoded int64. */
function s64(r: Reader): bigint {
  const u = u64(r);
  return (u >> 1n) ^ -(u & 1n);
}

function bool(r: Reader): boolean {
  const pos = r.pos;
  if (pos < r.len) {
    const b = r.buf[pos]!;
    if (b < 128) {
      r.pos = pos + 1;
      return b !== 0;
    }
  }
  const lo = readVarint64(r);
  return (lo | hi) !== 0;
}

/** A length prefix, checked against the bytes left in the buffer. */
function len(r: Reader): number {
  const buf = r.buf;
  const pos = r.pos;
  let n: number;
  if (pos + 2 <= r.len && buf[pos]! < 128) {
    n = buf[pos]!;
    r.pos = pos + 1;
  } else {
    n = readVarint64(r);
    if (hi !== 0) throw new CodecError(`length prefix too large at byte ${pos}`);
  }
  if (n > r.len - r.pos) {
    throw new CodecError(`length ${n} at byte ${pos} runs past the end of the input (${r.len} bytes)`);
  }
  return n;
}

function need(r: Reader, n: number): number {
  const pos = r.pos;
  if (pos + n > r.len) truncated(r);
  r.pos = pos + n;
  return pos;
}

/** Bytes as a zero-copy view into the input. */
function bytes(r: Reader): Uint8Array {
  const n = len(r);
  if (n === 0) return EMPTY;
  const p = r.pos;
  r.pos = p + n;
  return new Uint8Array(r.ab, r.off + p, n);
}

function str(r: Reader): string {
  const n = len(r);
  if (n === 0) return '';
  const p = r.pos;
  r.pos = p + n;
  return r.buf.toString('utf8', p, p + n);
}

const fx32 = (r: Reader): number => r.buf.readUInt32LE(need(r, 4));
const sfx32 = (r: Reader): number => r.buf.readInt32LE(need(r, 4));
const fx64 = (r: Reader): bigint => r.buf.readBigUInt64LE(need(r, 8));
const sfx64 = (r: Reader): bigint => r.buf.readBigInt64LE(need(r, 8));
const f32 = (r: Reader): number => r.buf.readFloatLE(need(r, 4));
const f64 = (r: Reader): number => r.buf.readDoubleLE(need(r, 8));

/** Skip one field whose tag was just read (unknown field or unexpected wire type). */
function skip(r: Reader, tag: number): void {
  if (tag >>> 3 === 0) throw new CodecError(`invalid field number 0 before byte ${r.pos}`);
  switch (tag & 7) {
    case 0:
      readVarint64(r);
      return;
    case 1:
      need(r, 8);
      return;
    case 2: {
      const n = len(r); // before reading r.pos: len() advances it
      r.pos += n;
      return;
    }
    case 5:
      need(r, 4);
      return;
    case 3: {
      // Deprecated group: skip nested fields up to the matching end-group tag.
      const field = tag >>> 3;
      for (;;) {
        if (r.pos >= r.len) truncated(r);
        const t = u32(r);
        if ((t & 7) === 4) {
          if (t >>> 3 !== field) throw new CodecError(`mismatched end-group tag before byte ${r.pos}`);
          return;
        }
        skip(r, t);
      }
    }
    case 4:
      throw new CodecError(`unexpected end-group tag before byte ${r.pos}`);
    default:
      throw new CodecError(`invalid wire type ${tag & 7} before byte ${r.pos}`);
  }
}

function overrun(r: Reader, end: number): never {
  throw new CodecError(`field overruns its message (at byte ${r.pos}, message ends at ${end})`);
}

/** Helpers visible to generated decoders. */
const helpers = { u32, i32, s32, i64, u64, s64, bool, len, bytes, str, fx32, sfx32, fx64, sfx64, f32, f64, skip, overrun, EMPTY };

/** A decoder function: reads fields from `r.pos` up to `end`. */
export type DecodeFn = (r: Reader, end: number) => Record<string, unknown>;

/** Late-bound reference to a (possibly not yet compiled) decoder, so recursive types work. */
export interface DecoderSlot {
  fn: DecodeFn;
}

const READ: Record<string, string> = {
  int32: 'i32(r)',
  enum: 'i32(r)',
  uint32: 'u32(r)',
  sint32: 's32(r)',
  int64: 'i64(r)',
  uint64: 'u64(r)',
  sint64: 's64(r)',
  fixed32: 'fx32(r)',
  sfixed32: 'sfx32(r)',
  fixed64: 'fx64(r)',
  sfixed64: 'sfx64(r)',
  float: 'f32(r)',
  double: 'f64(r)',
  bool: 'bool(r)',
  string: 'str(r)',
  bytes: 'bytes(r)',
};

function defaultLiteral(f: FieldSchema): string {
  if (f.repeated) return '[]';
  if (f.oneof !== undefined || f.type === 'message') return 'undefined';
  switch (f.type) {
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return '0n';
    case 'bool':
      return 'false';
    case 'string':
      return "''";
    case 'bytes':
      return 'EMPTY';
    default:
      return '0';
  }
}

const prop = (name: string): string => `m[${JSON.stringify(name)}]`;

/**
 * Compile a decoder for `schema`. `slotOf` returns the slot of a referenced message type.
 * The generated function builds the result as one object literal (stable shape), then loops
 * over tags with a `switch` on the full tag value.
 */
export function compileDecoder(schema: MessageSchema, slotOf: (name: string) => DecoderSlot): DecodeFn {
  const slots: DecoderSlot[] = [];
  const slotIndex = new Map<string, number>();
  const slotVar = (ref: string): string => {
    let i = slotIndex.get(ref);
    if (i === undefined) {
      i = slots.length;
      slots.push(slotOf(ref));
      slotIndex.set(ref, i);
    }
    return `S${i}`;
  };

  const init = schema.fields.map((f) => `${JSON.stringify(f.name)}: ${defaultLiteral(f)}`).join(', ');
  const cases: string[] = [];
  for (const f of schema.fields) {
    const target = prop(f.name);
    const clearSiblings =
      f.oneof === undefined
        ? ''
        : schema.fields
            .filter((g) => g.oneof === f.oneof && g !== f)
            .map((g) => ` ${prop(g.name)} = undefined;`)
            .join('');
    const tagOf = (wt: number): number => f.number * 8 + wt;
    if (f.type === 'message') {
      const s = slotVar(f.ref!);
      const read = `{ const l = len(r); const e = r.pos + l; if (e > end) overrun(r, end); const v = ${s}.fn(r, e);`;
      const store = f.repeated ? `${target}.push(v);` : `${target} = v;${clearSiblings}`;
      cases.push(`case ${tagOf(2)}: ${read} ${store} break; }`);
      continue;
    }
    const read = READ[f.type]!;
    if (f.repeated) {
      if (f.wireType !== 2) {
        // Numeric: accept packed and unpacked encodings.
        cases.push(
          `case ${tagOf(2)}: { const l = len(r); const e = r.pos + l; if (e > end) overrun(r, end); ` +
            `const a = ${target}; while (r.pos < e) a.push(${read}); if (r.pos !== e) overrun(r, e); break; }`,
        );
      }
      cases.push(`case ${tagOf(f.wireType)}: ${target}.push(${read}); break;`);
    } else {
      cases.push(`case ${tagOf(f.wireType)}: ${target} = ${read};${clearSiblings} break;`);
    }
  }

  const fnName = `decode_${schema.name.replace(/\W/g, '_')}`;
  const body =
    `'use strict';\n` +
    `const { u32, i32, s32, i64, u64, s64, bool, len, bytes, str, fx32, sfx32, fx64, sfx64, f32, f64, skip, overrun, EMPTY } = H;\n` +
    slots.map((_, i) => `const S${i} = slots[${i}];\n`).join('') +
    `return function ${fnName}(r, end) {\n` +
    `  const m = { ${init} };\n` +
    `  const buf = r.buf;\n` +
    `  while (r.pos < end) {\n` +
    `    let t = buf[r.pos];\n` +
    `    if (t < 128) r.pos++; else t = u32(r);\n` +
    `    switch (t) {\n` +
    cases.map((c) => `      ${c}\n`).join('') +
    `      default: skip(r, t);\n` +
    `    }\n` +
    `  }\n` +
    `  if (r.pos !== end) overrun(r, end);\n` +
    `  return m;\n` +
    `};\n`;
  return new Function('H', 'slots', body)(helpers, slots) as DecodeFn;
}
