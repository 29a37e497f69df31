/**
 * Test helpers: protobufjs (loaded from proto/ at test time) as the reference implementation,
 * and a canonical form to compare our messages with protobufjs objects.
 */
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';
import { loadProtoRoot } from '../../scripts/gen-protocol.js';
import { messageSchemas } from '../../src/protocol/schema.generated.js';
import type { MessageSchema } from '../../src/protocol/schema-types.js';

export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
export const pbRoot = loadProtoRoot(PROTO_DIR, false);

export function pbType(name: string): protobuf.Type {
  return pbRoot.lookupType(name);
}

const isDefault = (v: unknown): boolean =>
  v === 0 || v === 0n || v === false || v === '' || (v instanceof Uint8Array && v.length === 0);

/**
 * Our encoder input -> protobufjs `fromObject` input: bigint -> decimal string, and explicit
 * proto3 defaults of non-oneof scalars dropped (protobufjs would write them; proto3 does not).
 */
export function toPbInput(schema: MessageSchema, v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const x = v[f.name];
    if (x === undefined || x === null) continue;
    const one = (e: unknown): unknown =>
      f.type === 'message'
        ? toPbInput(messageSchemas[f.ref as keyof typeof messageSchemas], e as Record<string, unknown>)
        : typeof e === 'bigint'
          ? e.toString()
          : e;
    if (f.repeated) out[f.name] = (x as unknown[]).map(one);
    else if (f.oneof === undefined && f.type !== 'message' && isDefault(x)) continue;
    else out[f.name] = one(x);
  }
  return out;
}

/** Encode with protobufjs. */
export function pbEncode(name: string, init: unknown): Buffer {
  const T = pbType(name);
  const schema = messageSchemas[name as keyof typeof messageSchemas];
  const msg = T.fromObject(toPbInput(schema, init as Record<string, unknown>));
  return Buffer.from(T.encode(msg).finish());
}

/** Decode with protobufjs into a plain object (longs as decimal strings, defaults filled). */
export function pbDecode(name: string, bytes: Uint8Array): unknown {
  const T = pbType(name);
  return T.toObject(T.decode(bytes), { longs: String, enums: Number, defaults: true, arrays: true });
}

/**
 * Canonical comparable form: bigints and longs as decimal strings, bytes as `hex:..`, absent
 * (null/undefined) fields dropped, keys sorted.
 */
export function canon(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `hex:${Buffer.from(v).toString('hex')}`;
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    if (protobuf.util.Long && v instanceof protobuf.util.Long) return v.toString();
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined && x !== null) out[k] = canon(x);
    }
    return out;
  }
  return v;
}
