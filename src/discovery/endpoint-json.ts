/**
 * The stored format of Go's naming/endpoints manager (what Go's gRPC `etcd:///` resolver
 * reads): key `<service>/<addr>`, value the JSON of `{Op, Addr, Metadata}` with Go's default
 * field names, `Op` 0 for "add", `Metadata` any JSON value (`null` when absent).
 *
 * Writing follows Go's encoder byte for byte: fields in that order, object keys sorted (as Go
 * writes maps), and `<`, `>`, `&`, U+2028, U+2029 escaped. Reading follows Go's decoder:
 * field names match case-insensitively, unknown fields are ignored, and a value whose
 * fields have the wrong types is rejected (Go skips such entries).
 */
import { Buffer } from 'node:buffer';
import type { ZodType } from 'zod';
import type { KeyValue } from '../convert.js';
import { describeInput, InvalidArgumentError, ValueDecodeError } from '../errors.js';

/** `Op` of an entry that adds an endpoint (the only one Go stores). */
export const opAdd = 0;

/** What an entry says: the address and its metadata. */
export interface EndpointRecord<M> {
  readonly addr: string;
  readonly metadata: M;
}

/**
 * The stored value for an endpoint: `{"Op":0,"Addr":...,"Metadata":...}`.
 * @throws InvalidArgumentError naming the part of `metadata` that JSON cannot represent.
 */
export function encodeEndpoint(addr: string, metadata: unknown): string {
  return `{"Op":${opAdd},"Addr":${goString(addr)},"Metadata":${goJson(metadata, 'metadata', new Set())}}`;
}

/** Encodes a value as Go's encoding/json would encode the same data (maps with sorted keys). */
function goJson(value: unknown, path: string, ancestors: Set<object>): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON('');
  }
  switch (typeof value) {
    case 'undefined':
      return 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgumentError(path, `JSON cannot represent ${value}`);
      return JSON.stringify(value);
    case 'string':
      return goString(value);
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new InvalidArgumentError(path, `JSON cannot represent a ${typeof value}`);
  }
  if (value === null) return 'null';
  const object = value as object;
  if (ancestors.has(object)) throw new InvalidArgumentError(path, 'is circular (refers to itself)');
  ancestors.add(object);
  let out: string;
  if (Array.isArray(object)) {
    out = `[${object.map((item, i) => (skipped(item) ? 'null' : goJson(item, `${path}[${i}]`, ancestors))).join(',')}]`;
  } else {
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => !skipped(record[key]))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    out = `{${keys.map((key) => `${goString(key)}:${goJson(record[key], `${path}.${key}`, ancestors)}`).join(',')}}`;
  }
  ancestors.delete(object);
  return out;
}

/** Members JSON leaves out of objects (and writes as null in arrays). */
function skipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

const goEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A JSON string as Go writes it (HTML-safe). */
function goString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => goEscapes[c]!);
}

/** Which field a JSON member name sets: exact match first, then case-insensitive (Go's rule). */
function fieldOf(name: string): 'Op' | 'Addr' | 'Metadata' | undefined {
  if (name === 'Op' || name === 'Addr' || name === 'Metadata') return name;
  switch (name.toLowerCase()) {
    case 'op':
      return 'Op';
    case 'addr':
      return 'Addr';
    case 'metadata':
      return 'Metadata';
    default:
      return undefined;
  }
}

/**
 * Reads a stored endpoint entry, validating the metadata with `schema` when given.
 * @throws ValueDecodeError naming the key and what is wrong.
 */
export function decodeEndpoint<M>(kv: KeyValue, schema: ZodType<M> | undefined): EndpointRecord<M> {
  const data = kv.json();
  const fail = (problem: string): never => {
    throw new ValueDecodeError(kv.key, kv.keyText, problem);
  };
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    fail(`is not an endpoint (expected a JSON object {"Op","Addr","Metadata"}, got ${describeInput(data)})`);
  }
  let addr = '';
  let metadata: unknown = null;
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    const field = fieldOf(name);
    if (field === 'Op') {
      if (value !== null && !(typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255)) {
        fail(`is not an endpoint: Op must be an integer from 0 to 255, got ${describeInput(value)}`);
      }
    } else if (field === 'Addr') {
      if (value !== null && typeof value !== 'string') fail(`is not an endpoint: Addr must be a string, got ${describeInput(value)}`);
      if (typeof value === 'string') addr = value;
    } else if (field === 'Metadata') {
      metadata = value;
    }
  }
  if (addr === '') fail('is not an endpoint: Addr is empty');
  if (schema === undefined) return { addr, metadata: metadata as M };
  const result = schema.safeParse(metadata);
  if (result.success) return { addr, metadata: result.data };
  const issues = result.error.issues
    .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`))
    .join('; ');
  return fail(`has metadata that does not match the schema: ${issues}`);
}
