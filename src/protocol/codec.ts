/**
 * The etcd message codec: `encode` and `decode` for every message of the v3 API, driven by the
 * generated schema tables. Per-message encoders/decoders are compiled on first use (generated
 * functions, see `encoder.ts` / `decoder.ts`) and cached.
 *
 * Conventions (docs/architecture.md): 64-bit integers are bigint, bytes decode to zero-copy
 * views of the input, decoded non-oneof scalars always carry a value (proto3 default when
 * absent), repeated fields are arrays, absent messages and oneof members are `undefined`.
 * Every field of a decoded message is an own property (possibly `undefined`), so all messages
 * of one type share one object shape.
 */
import { CodecError } from './codec-error.js';
import { compileDecoder, Reader, type DecodeFn, type DecoderSlot } from './decoder.js';
import { compileEncoder, type EncoderSlot, type Writer } from './encoder.js';
import type { Init, MessageName, MessageTypes } from './messages.generated.js';
import { messageSchemas } from './schema.generated.js';
import type { MessageSchema } from './schema-types.js';

export { CodecError } from './codec-error.js';
export type { Init, MessageName, MessageTypes } from './messages.generated.js';

const decoderSlots = new Map<string, DecoderSlot>();
const encoderSlots = new Map<string, EncoderSlot>();

function schemaOf(name: string): MessageSchema {
  const s = Object.hasOwn(messageSchemas, name) ? messageSchemas[name as MessageName] : undefined;
  if (!s) throw new CodecError(`unknown message type ${JSON.stringify(name)}`);
  return s;
}

function decoderSlot(name: string): DecoderSlot {
  let slot = decoderSlots.get(name);
  if (!slot) {
    const schema = schemaOf(name);
    const pending: DecoderSlot = { fn: () => { throw new CodecError(`decoder for ${name} not ready`); } };
    decoderSlots.set(name, pending);
    pending.fn = compileDecoder(schema, decoderSlot);
    slot = pending;
  }
  return slot;
}

function encoderSlot(name: string): EncoderSlot {
  let slot = encoderSlots.get(name);
  if (!slot) {
    const schema = schemaOf(name);
    const notReady = (): never => {
      throw new CodecError(`encoder for ${name} not ready`);
    };
    const pending: EncoderSlot = { size: notReady, write: notReady };
    encoderSlots.set(name, pending);
    const compiled = compileEncoder(schema, encoderSlot);
    pending.size = compiled.size;
    pending.write = compiled.write;
    slot = pending;
  }
  return slot;
}

function toBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (!(bytes instanceof Uint8Array)) throw new CodecError(`expected a Uint8Array to decode, got ${typeof bytes}`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The Reader of every empty input, alive for good. Besides saving an allocation, it keeps the
 * Reader's hidden class alive: optimised decoders depend on that class but V8 holds it only
 * weakly, so a full garbage collection at a moment when no Reader exists (they are
 * short-lived) would discard every optimised decoder and make them all compile again.
 */
const emptyReader = new Reader(Buffer.alloc(0));

function runDecode(name: string, fn: DecodeFn, bytes: Uint8Array): unknown {
  try {
    const buf = toBuffer(bytes);
    // Nothing advances an empty Reader, so the shared one serves every empty input.
    if (buf.length === 0) return fn(emptyReader, 0);
    return fn(new Reader(buf), buf.length);
  } catch (err) {
    throw new CodecError(`cannot decode ${name}: ${(err as Error).message}`, { cause: err });
  }
}

function runEncode(name: string, slot: EncoderSlot, msg: unknown): Buffer {
  try {
    if (msg === undefined || msg === null) msg = {};
    else if (typeof msg !== 'object' || Array.isArray(msg) || msg instanceof Uint8Array) {
      throw new CodecError(`expected a message object, got ${Array.isArray(msg) ? 'an array' : typeof msg}`);
    }
    const S: number[] = [];
    const n = slot.size(msg as Record<string, unknown>, S);
    const w: Writer = { buf: Buffer.allocUnsafe(n), pos: 0, si: 0, S };
    slot.write(msg as Record<string, unknown>, w);
    if (w.pos !== n) throw new CodecError(`internal error: wrote ${w.pos} bytes, expected ${n}`);
    return w.buf;
  } catch (err) {
    throw new CodecError(`cannot encode ${name}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Encode a message to protobuf bytes. Fields equal to their proto3 default are skipped,
 * except oneof members that are not `undefined`. 64-bit fields take a bigint (a safe-integer
 * number is also accepted). Throws {@link CodecError} naming the bad field on invalid input.
 */
export function encode<N extends MessageName>(name: N, msg: Init<MessageTypes[N]>): Buffer {
  return runEncode(name, encoderSlot(name), msg);
}

/**
 * Decode protobuf bytes into a message. Bytes fields are views into `bytes` (no copy), so
 * `bytes` must not be modified while the message is in use. Unknown fields are skipped.
 * Throws {@link CodecError} on malformed input.
 */
export function decode<N extends MessageName>(name: N, bytes: Uint8Array): MessageTypes[N] {
  return runDecode(name, decoderSlot(name).fn, bytes) as MessageTypes[N];
}

/** Encode/decode functions bound to one message type (skips the per-call type lookup). */
export interface MessageCodec<N extends MessageName> {
  readonly name: N;
  encode(msg: Init<MessageTypes[N]>): Buffer;
  decode(bytes: Uint8Array): MessageTypes[N];
}

/** Encode/decode functions bound to one message type. Compilation happens on first use. */
export function messageCodec<N extends MessageName>(name: N): MessageCodec<N> {
  schemaOf(name);
  let enc: EncoderSlot | undefined;
  let dec: DecoderSlot | undefined;
  return {
    name,
    encode: (msg) => runEncode(name, (enc ??= encoderSlot(name)), msg),
    decode: (bytes) => runDecode(name, (dec ??= decoderSlot(name)).fn, bytes) as MessageTypes[N],
  };
}
