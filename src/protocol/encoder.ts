/**
 * Protobuf encoding: wire-level writers plus a compiler that turns a message schema into two
 * specialised functions (generated once per message with `new Function`, then cached):
 *
 * - `size(msg, S)` validates the input and returns the encoded size; the lengths of nested
 *   messages and strings are pushed onto `S` in the order the writer needs them.
 * - `write(msg, w)` writes into a buffer of exactly that size, consuming `S` in order.
 *
 * Two passes, one allocation, no copying of nested messages. Only `codec.ts` uses this module.
 */
import { CodecError } from './codec-error.js';
import type { MessageSchema } from './schema-types.js';

/** Output state for one `encode` call. */
export interface Writer {
  buf: Buffer;
  pos: number;
  /** Next index into `S`. */
  si: number;
  /** Sizes computed by the size pass. */
  S: number[];
}

const M32 = 0xffffffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const TWO_56 = 2n ** 56n;
const TWO_63 = 2n ** 63n;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'bytes';
  switch (typeof v) {
    case 'string':
      return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
    case 'bigint':
      return `${typeof v} ${String(v)}${typeof v === 'bigint' ? 'n' : ''}`;
    default:
      return typeof v;
  }
}

function bad(path: string, expected: string, v: unknown): never {
  throw new CodecError(`invalid ${path}: expected ${expected}, got ${describe(v)}`);
}

// ---- sizes (validate, then return the encoded size of the value without its tag)

/** Varint size of a non-negative integer below 2^53. */
function vsz(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 0x800000000) return 5;
  if (n < 0x40000000000) return 6;
  if (n < 0x2000000000000) return 7;
  return 8;
}

/** Varint size of a uint64 bigint (already range-checked). */
function bigVsz(v: bigint): number {
  if (v <= MAX_SAFE) return vsz(Number(v));
  return v < TWO_56 ? 8 : v < TWO_63 ? 9 : 10;
}

function szI32(v: unknown, p: string): number {
  if (typeof v !== 'number' || (v | 0) !== v) bad(p, 'an int32 number', v);
  return v < 0 ? 10 : vsz(v);
}

function szU32(v: unknown, p: string): number {
  if (typeof v !== 'number' || v >>> 0 !== v) bad(p, 'a uint32 number', v);
  return vsz(v);
}

function szS32(v: unknown, p: string): number {
  if (typeof v !== 'number' || (v | 0) !== v) bad(p, 'an int32 number', v);
  return vsz(((v << 1) ^ (v >> 31)) >>> 0);
}

function szI64(v: unknown, p: string): number {
  if (typeof v === 'bigint') {
    if (v >= 0n && v <= MAX_SAFE) return vsz(Number(v));
    if (v < I64_MIN || v > I64_MAX) bad(p, 'an int64 in [-2^63, 2^63-1]', v);
    return v < 0n ? 10 : bigVsz(v);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad(p, 'an int64 bigint', v);
  return v < 0 ? 10 : vsz(v);
}

function szU64(v: unknown, p: string): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) bad(p, 'a uint64 in [0, 2^64-1]', v);
    return bigVsz(v);
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(p, 'a uint64 bigint', v);
  return vsz(v);
}

function zigzag64(v: bigint): bigint {
  return v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
}

function szS64(v: unknown, p: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v);
  if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) bad(p, 'an int64 bigint', v);
  return bigVsz(zigzag64(v));
}

function szBool(v: unknown, p: string): number {
  if (typeof v !== 'boolean') bad(p, 'a boolean', v);
  return 1;
}

function szF32(v: unknown, p: string): number {
  if (typeof v !== 'number') bad(p, 'a number', v);
  return 4;
}

function szF64(v: unknown, p: string): number {
  if (typeof v !== 'number') bad(p, 'a number', v);
  return 8;
}

function szFx32(v: unknown, p: string): number {
  if (typeof v !== 'number' || v >>> 0 !== v) bad(p, 'a uint32 number', v);
  return 4;
}

function szSfx32(v: unknown, p: string): number {
  if (typeof v !== 'number' || (v | 0) !== v) bad(p, 'an int32 number', v);
  return 4;
}

function szFx64(v: unknown, p: string): number {
  szU64(v, p);
  return 8;
}

function szSfx64(v: unknown, p: string): number {
  szI64(v, p);
  return 8;
}

/** UTF-8 length of a string (ASCII fast path for short strings). */
function strLen(v: unknown, p: string): number {
  if (typeof v !== 'string') bad(p, 'a string', v);
  const n = v.length;
  if (n < 64) {
    let i = 0;
    while (i < n && v.charCodeAt(i) < 0x80) i++;
    if (i === n) return n;
  }
  return Buffer.byteLength(v, 'utf8');
}

function bytesLen(v: unknown, p: string): number {
  if (!(v instanceof Uint8Array)) bad(p, 'a Uint8Array', v);
  return v.length;
}

function checkObject(v: unknown, p: string): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) bad(p, 'a message object', v);
}

function checkArray(v: unknown, p: string): void {
  if (!Array.isArray(v)) bad(p, 'an array', v);
}

function oneofConflict(p: string): never {
  throw new CodecError(`invalid ${p}: more than one member of the oneof is set`);
}

// ---- writers

function wLoHi(w: Writer, lo: number, hi: number): void {
  const buf = w.buf;
  let pos = w.pos;
  while (hi !== 0) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  while (lo > 127) {
    buf[pos++] = (lo & 127) | 128;
    lo >>>= 7;
  }
  buf[pos++] = lo;
  w.pos = pos;
}

/** Varint of a non-negative integer below 2^53. */
function wVar(w: Writer, n: number): void {
  if (n > 0xffffffff) {
    const lo = n >>> 0;
    wLoHi(w, lo, (n - lo) / 4294967296);
    return;
  }
  const buf = w.buf;
  let pos = w.pos;
  while (n > 127) {
    buf[pos++] = (n & 127) | 128;
    n >>>= 7;
  }
  buf[pos++] = n;
  w.pos = pos;
}

function wI32(w: Writer, v: number): void {
  if (v >= 0) wVar(w, v);
  else wLoHi(w, v >>> 0, 0xffffffff);
}

function wS32(w: Writer, v: number): void {
  wVar(w, ((v << 1) ^ (v >> 31)) >>> 0);
}

/** int64 or uint64 (bigint, or a safe-integer number). */
function wI64(w: Writer, v: bigint | number): void {
  if (typeof v === 'number') {
    if (v >= 0) {
      wVar(w, v);
      return;
    }
    v = BigInt(v);
  } else if (v >= 0n && v <= MAX_SAFE) {
    wVar(w, Number(v));
    return;
  }
  wLoHi(w, Number(v & M32), Number((v >> 32n) & M32));
}

function wS64(w: Writer, v: bigint | number): void {
  wI64(w, zigzag64(BigInt(v)));
}

function wBool(w: Writer, v: boolean): void {
  w.buf[w.pos++] = v ? 1 : 0;
}

function wFx32(w: Writer, v: number): void {
  w.pos = w.buf.writeUInt32LE(v, w.pos);
}

function wSfx32(w: Writer, v: number): void {
  w.pos = w.buf.writeInt32LE(v, w.pos);
}

function wFx64(w: Writer, v: bigint | number): void {
  w.pos = w.buf.writeBigUInt64LE(BigInt(v), w.pos);
}

function wSfx64(w: Writer, v: bigint | number): void {
  w.pos = w.buf.writeBigInt64LE(BigInt(v), w.pos);
}

function wF32(w: Writer, v: number): void {
  w.pos = w.buf.writeFloatLE(v, w.pos);
}

function wF64(w: Writer, v: number): void {
  w.pos = w.buf.writeDoubleLE(v, w.pos);
}

function wBytes(w: Writer, v: Uint8Array): void {
  const n = v.length;
  wVar(w, n);
  const buf = w.buf;
  let pos = w.pos;
  if (n < 32) {
    for (let i = 0; i < n; i++) buf[pos++] = v[i]!;
  } else {
    buf.set(v, pos);
    pos += n;
  }
  w.pos = pos;
}

/** A string whose UTF-8 length `n` was computed by the size pass. */
function wStr(w: Writer, v: string, n: number): void {
  wVar(w, n);
  const buf = w.buf;
  let pos = w.pos;
  if (n === v.length && n < 64) {
    for (let i = 0; i < n; i++) buf[pos++] = v.charCodeAt(i);
  } else {
    buf.write(v, pos, n, 'utf8');
    pos += n;
  }
  w.pos = pos;
}

const helpers = {
  vsz, szI32, szU32, szS32, szI64, szU64, szS64, szBool, szF32, szF64, szFx32, szSfx32, szFx64, szSfx64,
  strLen, bytesLen, checkObject, checkArray, oneofConflict,
  wVar, wI32, wS32, wI64, wS64, wBool, wFx32, wSfx32, wFx64, wSfx64, wF32, wF64, wBytes, wStr,
};

/** Compiled size and write functions of one message type. */
export interface EncoderSlot {
  size: (m: Record<string, unknown>, S: number[]) => number;
  write: (m: Record<string, unknown>, w: Writer) => void;
}

/** Per numeric scalar type: [size helper, writer helper, default check on `v`]. */
const NUMERIC: Record<string, [string, string, string]> = {
  int32: ['szI32', 'wI32', 'v !== 0'],
  enum: ['szI32', 'wI32', 'v !== 0'],
  uint32: ['szU32', 'wVar', 'v !== 0'],
  sint32: ['szS32', 'wS32', 'v !== 0'],
  int64: ['szI64', 'wI64', 'v != 0'],
  uint64: ['szU64', 'wI64', 'v != 0'],
  sint64: ['szS64', 'wS64', 'v != 0'],
  fixed32: ['szFx32', 'wFx32', 'v !== 0'],
  sfixed32: ['szSfx32', 'wSfx32', 'v !== 0'],
  fixed64: ['szFx64', 'wFx64', 'v != 0'],
  sfixed64: ['szSfx64', 'wSfx64', 'v != 0'],
  float: ['szF32', 'wF32', '(v !== 0 || 1 / v < 0)'],
  double: ['szF64', 'wF64', '(v !== 0 || 1 / v < 0)'],
  bool: ['szBool', 'wBool', 'v === true'],
};

function tagBytes(number: number, wireType: number): number[] {
  let t = number * 8 + wireType;
  const out: number[] = [];
  while (t > 127) {
    out.push((t & 127) | 128);
    t = Math.floor(t / 128);
  }
  out.push(t);
  return out;
}

/**
 * Compile the size and write functions for `schema`. `slotOf` returns the (possibly still
 * empty) slot of a referenced message type, so recursive types compile.
 */
export function compileEncoder(schema: MessageSchema, slotOf: (name: string) => EncoderSlot): EncoderSlot {
  const slots: EncoderSlot[] = [];
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

  const fields = [...schema.fields].sort((a, b) => a.number - b.number);
  const size: string[] = [];
  const write: string[] = [];
  const oneofCounters = new Map<string, string>();
  schema.oneofs.forEach((o, i) => oneofCounters.set(o.name, `c${i}`));

  for (const f of fields) {
    const path = JSON.stringify(`${schema.name}.${f.name}`);
    const get = `v = m[${JSON.stringify(f.name)}];`;
    const tag = tagBytes(f.number, f.repeated && f.packed ? 2 : f.wireType);
    const tagLen = tag.length;
    const wTag = tag.map((b) => `b[w.pos++] = ${b};`).join(' ');
    const present = 'v !== undefined && v !== null';
    const counter = f.oneof === undefined ? '' : `${oneofCounters.get(f.oneof)}++; `;
    const elemPath = JSON.stringify(`${schema.name}.${f.name}[]`);

    if (f.type === 'message') {
      const s = slotVar(f.ref!);
      const one = (x: string, p: string): string =>
        `checkObject(${x}, ${p}); { const i = S.length; S.push(0); const s = ${s}.size(${x}, S); S[i] = s; n += ${tagLen} + vsz(s) + s; }`;
      const wOne = (x: string): string => `${wTag} wVar(w, S[w.si++]); ${s}.write(${x}, w);`;
      if (f.repeated) {
        size.push(`${get} if (${present}) { checkArray(v, ${path}); for (let i = 0; i < v.length; i++) { const e = v[i]; ${one('e', elemPath)} } }`);
        write.push(`${get} if (${present}) for (let i = 0; i < v.length; i++) { ${wOne('v[i]')} }`);
      } else {
        size.push(`${get} if (${present}) { ${counter}${one('v', path)} }`);
        write.push(`${get} if (${present}) { ${wOne('v')} }`);
      }
      continue;
    }

    if (f.type === 'string' || f.type === 'bytes') {
      const isStr = f.type === 'string';
      const sz = (x: string, p: string): string => (isStr ? `strLen(${x}, ${p})` : `bytesLen(${x}, ${p})`);
      const push = isStr ? 'S.push(l); ' : '';
      const wv = (x: string): string => (isStr ? `wStr(w, ${x}, S[w.si++]);` : `wBytes(w, ${x});`);
      if (f.repeated) {
        size.push(
          `${get} if (${present}) { checkArray(v, ${path}); for (let i = 0; i < v.length; i++) { const l = ${sz('v[i]', elemPath)}; ${push}n += ${tagLen} + vsz(l) + l; } }`,
        );
        write.push(`${get} if (${present}) for (let i = 0; i < v.length; i++) { ${wTag} ${wv('v[i]')} }`);
      } else if (f.oneof !== undefined) {
        size.push(`${get} if (${present}) { ${counter}const l = ${sz('v', path)}; ${push}n += ${tagLen} + vsz(l) + l; }`);
        write.push(`${get} if (${present}) { ${wTag} ${wv('v')} }`);
      } else {
        size.push(`${get} if (${present}) { const l = ${sz('v', path)}; if (l !== 0) { ${push}n += ${tagLen} + vsz(l) + l; } }`);
        write.push(`${get} if (${present} && v.length !== 0) { ${wTag} ${wv('v')} }`);
      }
      continue;
    }

    const [szFn, wFn, nonDefault] = NUMERIC[f.type]!;
    if (f.repeated && f.packed) {
      size.push(
        `${get} if (${present}) { checkArray(v, ${path}); if (v.length !== 0) { let ps = 0; for (let i = 0; i < v.length; i++) ps += ${szFn}(v[i], ${elemPath}); S.push(ps); n += ${tagLen} + vsz(ps) + ps; } }`,
      );
      write.push(`${get} if (${present} && v.length !== 0) { ${wTag} wVar(w, S[w.si++]); for (let i = 0; i < v.length; i++) ${wFn}(w, v[i]); }`);
    } else if (f.repeated) {
      size.push(`${get} if (${present}) { checkArray(v, ${path}); for (let i = 0; i < v.length; i++) n += ${tagLen} + ${szFn}(v[i], ${elemPath}); }`);
      write.push(`${get} if (${present}) for (let i = 0; i < v.length; i++) { ${wTag} ${wFn}(w, v[i]); }`);
    } else if (f.oneof !== undefined) {
      size.push(`${get} if (${present}) { ${counter}n += ${tagLen} + ${szFn}(v, ${path}); }`);
      write.push(`${get} if (${present}) { ${wTag} ${wFn}(w, v); }`);
    } else {
      size.push(`${get} if (${present}) { const s = ${szFn}(v, ${path}); if (${nonDefault}) n += ${tagLen} + s; }`);
      write.push(`${get} if (${present} && ${nonDefault}) { ${wTag} ${wFn}(w, v); }`);
    }
  }

  const counters = [...oneofCounters.values()];
  const checks = schema.oneofs.map(
    (o, i) => `  if (c${i} > 1) oneofConflict(${JSON.stringify(`${schema.name}.${o.name}`)});\n`,
  );
  const id = schema.name.replace(/\W/g, '_');
  const body =
    `'use strict';\n` +
    `const { ${Object.keys(helpers).join(', ')} } = H;\n` +
    slots.map((_, i) => `const S${i} = slots[${i}];\n`).join('') +
    `function size_${id}(m, S) {\n` +
    `  let n = 0, v;\n` +
    (counters.length ? `  let ${counters.map((c) => `${c} = 0`).join(', ')};\n` : '') +
    size.map((l) => `  ${l}\n`).join('') +
    checks.join('') +
    `  return n;\n` +
    `}\n` +
    `function write_${id}(m, w) {\n` +
    `  const b = w.buf, S = w.S;\n` +
    `  let v;\n` +
    write.map((l) => `  ${l}\n`).join('') +
    `}\n` +
    `return { size: size_${id}, write: write_${id} };\n`;
  return new Function('H', 'slots', body)(helpers, slots) as EncoderSlot;
}
