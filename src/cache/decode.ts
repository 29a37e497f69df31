/**
 * How a cache turns a stored key-value into its value: JSON validated by a zod schema, a
 * caller's decode function, or the value text. Failures become ValueDecodeErrors naming the key.
 */
import type { ZodType } from 'zod';
import { KeyValue } from '../convert.js';
import { ValueDecodeError } from '../errors.js';

/** The outcome of decoding one value. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValueDecodeError };

/** Decodes one stored key-value; never throws. */
export type Decoder<T> = (kv: KeyValue) => Decoded<T>;

/** Builds the decoder for a schema, a decode function, or neither (the value as text). */
export function makeDecoder<T>(schema: ZodType<T> | undefined, decode: ((kv: KeyValue) => T) | undefined): Decoder<T> {
  if (schema !== undefined) {
    return (kv) => {
      try {
        return { ok: true, value: kv.json(schema) };
      } catch (error) {
        return { ok: false, error: asDecodeError(kv, error) };
      }
    };
  }
  if (decode !== undefined) {
    return (kv) => {
      try {
        return { ok: true, value: decode(kv) };
      } catch (error) {
        return { ok: false, error: asDecodeError(kv, error) };
      }
    };
  }
  return (kv) => ({ ok: true, value: kv.valueText as T });
}

function asDecodeError(kv: KeyValue, error: unknown): ValueDecodeError {
  if (error instanceof ValueDecodeError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return new ValueDecodeError(kv.key, kv.keyText, `was rejected: ${text}`, error);
}

/** A binary-safe map key for a key's bytes (one char per byte). */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * A copy of a key-value that owns its bytes: decoded messages are views into the received
 * buffer, and keeping one would keep the whole buffer alive.
 */
export function ownedKeyValue(kv: KeyValue): KeyValue {
  return new KeyValue(kv.key.slice(), kv.value.slice(), kv.createRevision, kv.modRevision, kv.version, kv.lease);
}
