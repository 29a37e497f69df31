/**
 * Validates `client.watch` arguments into the immutable description of one watch.
 */
import type { Bytes } from '../bytes.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { checkOptions, optionalFlag, toInt64 } from '../kv/args.js';
import { resolveRange } from '../kv/range.js';
import { WatchCreateRequest_FilterType } from '../protocol/messages.generated.js';
import type { CompactionPolicy, WatchOptions } from './types.js';

/** Default of `bufferSize`. */
export const defaultBufferSize = 1000;

/** Largest accepted `bufferSize`. */
const maxBufferSize = 1 << 24;

/** A validated watch: what is created on the server and how items reach the consumer. */
export interface WatchSpec {
  readonly key: Uint8Array;
  /** Undefined for a single key. */
  readonly rangeEnd: Uint8Array | undefined;
  /** 0n: from now. */
  readonly startRevision: bigint;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  /** Wire filter list (shared constant arrays). */
  readonly filters: readonly number[];
  readonly onCompacted: CompactionPolicy;
  readonly bufferSize: number;
  readonly signal: AbortSignal | undefined;
}

const noFilters: readonly number[] = [];
const noPut: readonly number[] = [WatchCreateRequest_FilterType.NOPUT];
const noDelete: readonly number[] = [WatchCreateRequest_FilterType.NODELETE];
const noPutNoDelete: readonly number[] = [WatchCreateRequest_FilterType.NOPUT, WatchCreateRequest_FilterType.NODELETE];

/**
 * Parses the arguments of `client.watch`.
 * @throws InvalidArgumentError naming the argument at fault.
 */
export function parseWatchSpec(key: Bytes, options: WatchOptions | undefined): WatchSpec {
  checkOptions(options);
  const o = options ?? {};
  const range = resolveRange(key, o);
  const startRevision = o.startRevision === undefined ? 0n : toInt64(o.startRevision, 'options.startRevision', 0n);
  return {
    key: range.key,
    rangeEnd: range.range_end,
    startRevision,
    prevKv: optionalFlag(o.prevKv, 'options.prevKv'),
    progressNotify: optionalFlag(o.progressNotify, 'options.progressNotify'),
    filters: parseFilters(o.filters),
    onCompacted: parsePolicy(o.onCompacted),
    bufferSize: parseBufferSize(o.bufferSize),
    signal: parseSignal(o.signal),
  };
}

function parseFilters(filters: WatchOptions['filters']): readonly number[] {
  if (filters === undefined) return noFilters;
  if (filters === null || typeof filters !== 'object') {
    throw new InvalidArgumentError('options.filters', `expected an object { noPut?, noDelete? }, got ${describeInput(filters)}`);
  }
  const put = optionalFlag(filters.noPut, 'options.filters.noPut');
  const del = optionalFlag(filters.noDelete, 'options.filters.noDelete');
  return put ? (del ? noPutNoDelete : noPut) : del ? noDelete : noFilters;
}

function parsePolicy(policy: unknown): CompactionPolicy {
  if (policy === undefined || policy === 'error') return 'error';
  if (policy === 'resync') return 'resync';
  throw new InvalidArgumentError('options.onCompacted', `expected "error" or "resync", got ${describeInput(policy)}`);
}

function parseBufferSize(size: unknown): number {
  if (size === undefined) return defaultBufferSize;
  if (typeof size === 'number' && Number.isInteger(size) && size >= 1 && size <= maxBufferSize) return size;
  throw new InvalidArgumentError('options.bufferSize', `expected an integer from 1 to ${maxBufferSize}, got ${describeInput(size)}`);
}

function parseSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (signal instanceof AbortSignal) return signal;
  throw new InvalidArgumentError('options.signal', `expected an AbortSignal, got ${describeInput(signal)}`);
}
