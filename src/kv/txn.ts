/**
 * Transactions: `Compare` guards, `Op` operations and the `TxnBuilder`
 * (`.if(...).then(...).else(...).commit()`), plus the function that builds the wire TxnRequest.
 */
import { toBytes } from '../bytes.js';
import type { Bytes } from '../bytes.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../protocol/messages.generated.js';
import type * as wire from '../protocol/messages.generated.js';
import type { Init } from '../protocol/messages.generated.js';
import { checkOptions, toInt64 } from './args.js';
import { resolveRange } from './range.js';
import { buildDeleteRequest, buildPutRequest, buildRangeRequest } from './requests.js';
import type { CallOptions, DeleteOpOptions, Int64, PutOpOptions, RangeOptions, RangeSelector, TxnResult } from './types.js';

/** How a compare relates the stored field to the given operand. */
export type CompareOperator = '==' | '!=' | '>' | '<';

const operators: Readonly<Record<CompareOperator, wire.Compare_CompareResult>> = {
  '==': Compare_CompareResult.EQUAL,
  '!=': Compare_CompareResult.NOT_EQUAL,
  '>': Compare_CompareResult.GREATER,
  '<': Compare_CompareResult.LESS,
};

function toOperator(op: CompareOperator): wire.Compare_CompareResult {
  if (typeof op === 'string' && Object.hasOwn(operators, op)) return operators[op];
  throw new InvalidArgumentError('op', `expected one of "==", "!=", ">", "<", got ${describeInput(op)}`);
}

let compareWire: (compare: Compare) => Init<wire.Compare>;

/**
 * A transaction guard on one key (or on every key of a range, with `prefix` / `rangeEnd` /
 * `fromKey`). A missing key compares as version/revisions/lease 0; a value compare on a missing
 * key is always false.
 */
export class Compare {
  readonly #wire: Init<wire.Compare>;

  private constructor(request: Init<wire.Compare>) {
    this.#wire = request;
  }

  static {
    compareWire = (compare) => compare.#wire;
  }

  /** Compares the key's value bytes (lexicographically). */
  static value(key: Bytes, op: CompareOperator, value: Bytes, options?: RangeSelector): Compare {
    return Compare.#make(key, op, Compare_CompareTarget.VALUE, options, { value: toBytes(value, 'value') });
  }

  /** Compares the key's version (number of puts since creation; 0 when missing). */
  static version(key: Bytes, op: CompareOperator, version: Int64, options?: RangeSelector): Compare {
    return Compare.#make(key, op, Compare_CompareTarget.VERSION, options, { version: toInt64(version, 'version') });
  }

  /** Compares the revision at which the key was created (0 when missing). */
  static createRevision(key: Bytes, op: CompareOperator, revision: Int64, options?: RangeSelector): Compare {
    return Compare.#make(key, op, Compare_CompareTarget.CREATE, options, {
      create_revision: toInt64(revision, 'revision'),
    });
  }

  /** Compares the revision of the key's last modification (0 when missing). */
  static modRevision(key: Bytes, op: CompareOperator, revision: Int64, options?: RangeSelector): Compare {
    return Compare.#make(key, op, Compare_CompareTarget.MOD, options, { mod_revision: toInt64(revision, 'revision') });
  }

  /** Compares the ID of the lease the key is attached to (0 when none or missing). */
  static lease(key: Bytes, op: CompareOperator, lease: Int64, options?: RangeSelector): Compare {
    return Compare.#make(key, op, Compare_CompareTarget.LEASE, options, { lease: toInt64(lease, 'lease') });
  }

  static #make(
    key: Bytes,
    op: CompareOperator,
    target: wire.Compare_CompareTarget,
    options: RangeSelector | undefined,
    operand: Init<wire.Compare>,
  ): Compare {
    checkOptions(options);
    const range = resolveRange(key, options);
    return new Compare({ result: toOperator(op), target, ...range, ...operand });
  }
}

/** Kind of a transaction operation. */
export type OpType = 'get' | 'put' | 'delete' | 'txn';

let opWire: (op: Op) => Init<wire.RequestOp>;

/** One operation of a transaction branch. Build with `Op.get`, `Op.put`, `Op.delete`, `Op.txn`. */
export class Op {
  /** What the operation does; its result in `TxnResult.responses` has the same `type`. */
  readonly type: OpType;
  readonly #wire: Init<wire.RequestOp>;

  private constructor(type: OpType, request: Init<wire.RequestOp>) {
    this.type = type;
    this.#wire = request;
  }

  static {
    opWire = (op) => op.#wire;
  }

  /** Reads a key or range (same options as `kv.get`). */
  static get(key: Bytes, options?: RangeOptions): Op {
    return new Op('get', { request_range: buildRangeRequest(key, options) });
  }

  /** Writes a key (same options as `kv.put`). */
  static put(key: Bytes, value: Bytes, options?: PutOpOptions): Op {
    return new Op('put', { request_put: buildPutRequest(key, value, options) });
  }

  /** Deletes a key or range (same options as `kv.delete`). */
  static delete(key: Bytes, options?: DeleteOpOptions): Op {
    return new Op('delete', { request_delete_range: buildDeleteRequest(key, options) });
  }

  /**
   * A nested transaction. Like etcd, its compares are evaluated against the state before the
   * whole (outer) transaction; its operations then see the writes of the operations before it.
   */
  static txn(compares: readonly Compare[], thenOps: readonly Op[], elseOps: readonly Op[]): Op {
    return new Op('txn', {
      request_txn: buildTxnRequest(
        checkList(compares, 'Compare', 'compares'),
        checkList(thenOps, 'Op', 'thenOps'),
        checkList(elseOps, 'Op', 'elseOps'),
      ),
    });
  }
}

const factories = {
  Compare: 'Compare.value(...), Compare.version(...), ...',
  Op: 'Op.get(...), Op.put(...), Op.delete(...), Op.txn(...)',
} as const;

function checkList<T>(items: readonly T[], kind: keyof typeof factories, argument: string): readonly T[] {
  if (!Array.isArray(items)) throw new InvalidArgumentError(argument, `expected an array of ${kind}, got ${describeInput(items)}`);
  items.forEach((item: unknown, index) => {
    if (!(kind === 'Compare' ? item instanceof Compare : item instanceof Op)) {
      throw new InvalidArgumentError(
        `${argument}[${index}]`,
        `expected a ${kind} built with ${factories[kind]}, got ${describeInput(item)}`,
      );
    }
  });
  return items;
}

/** Builds the wire TxnRequest from compares and the two branches. */
export function buildTxnRequest(
  compares: readonly Compare[],
  success: readonly Op[],
  failure: readonly Op[],
): Init<wire.TxnRequest> {
  return { compare: compares.map(compareWire), success: success.map(opWire), failure: failure.map(opWire) };
}

type TxnStage = 'new' | 'if' | 'then' | 'else';

const stageOrder: Readonly<Record<TxnStage, number>> = { new: 0, if: 1, then: 2, else: 3 };

/**
 * Builds and commits a transaction: `.if(...compares).then(...ops).else(...ops).commit()`.
 * Each of `if`, `then`, `else` may be called at most once, in that order (any may be skipped).
 * A builder is not a promise: awaiting it without `.commit()` rejects with an explanation.
 */
export class TxnBuilder {
  readonly #execute: (request: Init<wire.TxnRequest>, options: CallOptions | undefined) => Promise<TxnResult>;
  #stage: TxnStage = 'new';
  #compares: readonly Compare[] = [];
  #success: readonly Op[] = [];
  #failure: readonly Op[] = [];

  /** @internal Created by `kv.txn()`. */
  constructor(execute: (request: Init<wire.TxnRequest>, options: CallOptions | undefined) => Promise<TxnResult>) {
    this.#execute = execute;
  }

  /** The guards; the transaction takes the `then` branch when all of them hold. */
  if(...compares: Compare[]): this {
    this.#advance('if');
    this.#compares = checkList(compares, 'Compare', 'if');
    return this;
  }

  /** Operations to run when every compare holds. */
  then(...ops: Op[]): this {
    if (typeof ops[0] === 'function' || typeof ops[1] === 'function') {
      // Someone awaited the builder (`await kv.txn().if(...)`): explain instead of hanging.
      const reject = ops[1] as unknown as ((reason: unknown) => void) | undefined;
      const error = new InvalidArgumentError('txn', 'a TxnBuilder is not a promise; call .commit() to run it');
      if (typeof reject === 'function') reject(error);
      return this;
    }
    this.#advance('then');
    this.#success = checkList(ops, 'Op', 'then');
    return this;
  }

  /** Operations to run when some compare fails. */
  else(...ops: Op[]): this {
    this.#advance('else');
    this.#failure = checkList(ops, 'Op', 'else');
    return this;
  }

  /** Sends the transaction. */
  commit(options?: CallOptions): Promise<TxnResult> {
    return this.#execute(buildTxnRequest(this.#compares, this.#success, this.#failure), options);
  }

  #advance(next: TxnStage): void {
    if (stageOrder[next] <= stageOrder[this.#stage]) {
      const problem =
        next === this.#stage
          ? `.${next}() may be called only once per transaction`
          : `.${next}() must come before .${this.#stage}() (order: if, then, else)`;
      throw new InvalidArgumentError('txn', problem);
    }
    this.#stage = next;
  }
}
