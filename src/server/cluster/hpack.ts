/**
 * The few HPACK (RFC 7541) pieces the authority rewriter needs: prefixed integers, string
 * literals (raw or Huffman), and the shape of each header field representation. No header
 * table is kept: the rewriter never needs one (see authority-fix.ts).
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './hpack-huffman.js';

/** A malformed header block; the rewriter then passes the original bytes on untouched. */
export class HpackError extends Error {}

/** Reads a prefixed integer (RFC 7541 §5.1) at `at` whose prefix has `bits` bits. */
export function readInteger(buf: Uint8Array, at: number, bits: number): { value: number; next: number } {
  if (at >= buf.length) throw new HpackError('truncated integer');
  const max = (1 << bits) - 1;
  let value = buf[at]! & max;
  let next = at + 1;
  if (value < max) return { value, next };
  for (let shift = 0; ; shift += 7) {
    if (next >= buf.length || shift > 28) throw new HpackError('bad integer');
    const byte = buf[next++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next };
  }
}

/** Writes a prefixed integer whose first byte carries `flags` above the `bits`-bit prefix. */
export function writeInteger(value: number, bits: number, flags: number): number[] {
  const max = (1 << bits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** A string literal's position: its bytes as sent, and whether they are Huffman coded. */
export interface StringRef {
  readonly huffman: boolean;
  readonly start: number;
  readonly end: number;
}

/** Reads the string literal (RFC 7541 §5.2) at `at`. */
export function readString(buf: Uint8Array, at: number): { ref: StringRef; next: number } {
  if (at >= buf.length) throw new HpackError('truncated string');
  const huffman = (buf[at]! & 0x80) !== 0;
  const { value: length, next } = readInteger(buf, at, 7);
  if (next + length > buf.length) throw new HpackError('truncated string');
  return { ref: { huffman, start: next, end: next + length }, next: next + length };
}

/** A raw (not Huffman coded) string literal. */
export function writeString(text: string): number[] {
  const bytes = Buffer.from(text, 'latin1');
  return [...writeInteger(bytes.length, 7, 0), ...bytes];
}

/** Decoding table: for each code length, code -> symbol. */
const byLength: Map<number, number>[] = (() => {
  const table: Map<number, number>[] = [];
  HUFFMAN_CODES.forEach((code, symbol) => {
    const len = HUFFMAN_LENGTHS[symbol]!;
    (table[len] ??= new Map()).set(code, symbol);
  });
  return table;
})();

/** The text of a string literal (latin1: header values are octets). */
export function stringText(buf: Uint8Array, ref: StringRef): string {
  const bytes = buf.subarray(ref.start, ref.end);
  if (!ref.huffman) return Buffer.from(bytes).toString('latin1');
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const symbol = byLength[len]?.get(code);
      if (symbol !== undefined) {
        if (symbol === 256) throw new HpackError('EOS in a string');
        out.push(symbol);
        code = 0;
        len = 0;
      } else if (len > 30) {
        throw new HpackError('bad Huffman code');
      }
    }
  }
  // the padding is a prefix of EOS: fewer than 8 one bits
  if (len > 7 || code !== 2 ** len - 1) throw new HpackError('bad Huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** The kinds of header field representation (RFC 7541 §6). */
export type FieldKind = 'indexed' | 'incremental' | 'withoutIndexing' | 'neverIndexed' | 'sizeUpdate';

/** One representation of a header block, by position. */
export interface Field {
  readonly kind: FieldKind;
  readonly start: number;
  readonly end: number;
  /** For literals: the static or dynamic index of the name (0 = a literal name). */
  readonly nameIndex: number;
  readonly name: StringRef | undefined;
  readonly value: StringRef | undefined;
}

/** Splits a header block into its representations. */
export function parseBlock(block: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < block.length) {
    const first = block[at]!;
    const start = at;
    if (first & 0x80) {
      at = readInteger(block, at, 7).next;
      fields.push({ kind: 'indexed', start, end: at, nameIndex: 0, name: undefined, value: undefined });
      continue;
    }
    if ((first & 0xe0) === 0x20) {
      at = readInteger(block, at, 5).next;
      fields.push({ kind: 'sizeUpdate', start, end: at, nameIndex: 0, name: undefined, value: undefined });
      continue;
    }
    const kind: FieldKind = first & 0x40 ? 'incremental' : first & 0x10 ? 'neverIndexed' : 'withoutIndexing';
    const idx = readInteger(block, at, kind === 'incremental' ? 6 : 4);
    at = idx.next;
    let name: StringRef | undefined;
    if (idx.value === 0) {
      const n = readString(block, at);
      name = n.ref;
      at = n.next;
    }
    const v = readString(block, at);
    at = v.next;
    fields.push({ kind, start, end: at, nameIndex: idx.value, name, value: v.ref });
  }
  return fields;
}

/** Encodes a literal field with a name index and a raw value, keeping the representation kind. */
export function writeLiteral(kind: 'incremental' | 'withoutIndexing' | 'neverIndexed', nameIndex: number, value: string): number[] {
  const prefix =
    kind === 'incremental' ? writeInteger(nameIndex, 6, 0x40) : writeInteger(nameIndex, 4, kind === 'neverIndexed' ? 0x10 : 0);
  return [...prefix, ...writeString(value)];
}
