import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Compare, InvalidArgumentError, Op } from '../../src/index.js';
import { buildTxnRequest, TxnBuilder } from '../../src/kv/txn.js';
import type { Init, TxnRequest } from '../../src/protocol/messages.generated.js';
import type { CallOptions, TxnResult } from '../../src/kv/types.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { norm } from './wire-norm.js';

const t = (s: string) => new TextEncoder().encode(s);
const zero = Uint8Array.of(0);

/** A builder whose commit records the request instead of sending it. */
function recordingBuilder(): { builder: TxnBuilder; sent: Array<{ request: Init<TxnRequest>; options?: CallOptions }> } {
  const sent: Array<{ request: Init<TxnRequest>; options?: CallOptions }> = [];
  const result: TxnResult = {
    header: { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n },
    succeeded: true,
    responses: [],
  };
  const builder = new TxnBuilder((request, options) => {
    sent.push(options === undefined ? { request } : { request, options });
    return Promise.resolve(result);
  });
  return { builder, sent };
}

describe('Compare', () => {
  it('builds each target with its oneof operand', () => {
    const request = buildTxnRequest(
      [
        Compare.value('k', '==', 'v'),
        Compare.version('k', '>', 0),
        Compare.createRevision('k', '<', 5n),
        Compare.modRevision('k', '!=', 0),
        Compare.lease('k', '==', 7n),
        Compare.value('p/', '!=', '', { prefix: true }),
        Compare.version('a', '==', 1, { rangeEnd: 'c' }),
      ],
      [],
      [],
    );
    assert.deepEqual(norm(request.compare), norm([
      { result: 0, target: 3, key: t('k'), value: t('v') },
      { result: 1, target: 0, key: t('k'), version: 0n },
      { result: 2, target: 1, key: t('k'), create_revision: 5n },
      { result: 3, target: 2, key: t('k'), mod_revision: 0n },
      { result: 0, target: 4, key: t('k'), lease: 7n },
      { result: 3, target: 3, key: t('p/'), range_end: t('p0'), value: new Uint8Array(0) },
      { result: 0, target: 0, key: t('a'), range_end: t('c'), version: 1n },
    ]));
  });

  it('a zero operand is still sent (proto3 oneof presence)', () => {
    const request = buildTxnRequest([Compare.version('k', '==', 0)], [], []);
    const decoded = decode('etcdserverpb.TxnRequest', encode('etcdserverpb.TxnRequest', request));
    assert.equal(decoded.compare[0]!.version, 0n);
    assert.equal(decoded.compare[0]!.value, undefined);
  });

  it('rejects bad operators, keys and operands', () => {
    assert.throws(() => Compare.value('k', '===' as '==', 'v'), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'op');
    assert.throws(() => Compare.version('', '==', 1), /key: must not be empty/);
    assert.throws(() => Compare.version('k', '==', 1.5), /version: expected a 64-bit integer/);
    assert.throws(() => Compare.modRevision('k', '==', 'x' as unknown as number), /revision:/);
  });
});

describe('Op', () => {
  it('builds each request kind, including nested transactions', () => {
    const request = buildTxnRequest(
      [],
      [
        Op.get('a', { prefix: true, limit: 1 }),
        Op.put('b', 'v', { lease: 9n, prevKv: true }),
        Op.delete('', { fromKey: true }),
        Op.txn([Compare.version('c', '==', 0)], [Op.put('c', '1')], [Op.get('c')]),
      ],
      [Op.get('z')],
    );
    assert.deepEqual(norm(request), norm({
      compare: [],
      success: [
        { request_range: { key: t('a'), range_end: t('b'), limit: 1n } },
        { request_put: { key: t('b'), value: t('v'), lease: 9n, prev_kv: true } },
        { request_delete_range: { key: zero, range_end: zero } },
        {
          request_txn: {
            compare: [{ result: 0, target: 0, key: t('c'), version: 0n }],
            success: [{ request_put: { key: t('c'), value: t('1') } }],
            failure: [{ request_range: { key: t('c') } }],
          },
        },
      ],
      failure: [{ request_range: { key: t('z') } }],
    }));
    assert.deepEqual(norm(['get', 'put', 'delete', 'txn']), norm([Op.get('a').type, Op.put('a', '').type, Op.delete('a').type, Op.txn([], [], []).type]));
    // The request encodes and decodes to the same structure.
    const decoded = decode('etcdserverpb.TxnRequest', encode('etcdserverpb.TxnRequest', request));
    assert.equal(decoded.success.length, 4);
    assert.deepEqual(norm(decoded.success[3]!.request_txn!.failure[0]!.request_range!.key), norm(t('c')));
  });

  it('Op.txn checks its lists', () => {
    assert.throws(() => Op.txn([Op.get('a') as unknown as Compare], [], []), /compares\[0\]: expected a Compare/);
    assert.throws(() => Op.txn([], [{} as Op], []), /thenOps\[0\]: expected a Op built with Op.get/);
    assert.throws(() => Op.txn([], [], 'x' as unknown as Op[]), /elseOps: expected an array/);
  });
});

describe('TxnBuilder', () => {
  it('commit sends the request built from if/then/else', async () => {
    const { builder, sent } = recordingBuilder();
    const signal = new AbortController().signal;
    await builder
      .if(Compare.value('k', '==', 'v'))
      .then(Op.put('k', 'w'))
      .else(Op.get('k'))
      .commit({ timeoutMs: 100, signal });
    assert.equal(sent.length, 1);
    assert.deepEqual(norm(sent[0]!.request), norm({
      compare: [{ result: 0, target: 3, key: t('k'), value: t('v') }],
      success: [{ request_put: { key: t('k'), value: t('w') } }],
      failure: [{ request_range: { key: t('k') } }],
    }));
    assert.equal(sent[0]!.options?.signal, signal);
  });

  it('any stage may be skipped', async () => {
    const { builder, sent } = recordingBuilder();
    await builder.else(Op.delete('x')).commit();
    assert.deepEqual(norm(sent[0]!.request), norm({ compare: [], success: [], failure: [{ request_delete_range: { key: t('x') } }] }));
  });

  it('each of if/then/else only once and in order', () => {
    const stage = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'txn' && pattern.test(e.message));
    stage(() => recordingBuilder().builder.then(Op.get('a')).then(Op.get('b')), /\.then\(\) may be called only once/);
    stage(() => recordingBuilder().builder.if().if(), /\.if\(\) may be called only once/);
    stage(() => recordingBuilder().builder.else().then(), /\.then\(\) must come before \.else\(\)/);
    stage(() => recordingBuilder().builder.then().if(), /\.if\(\) must come before \.then\(\)/);
  });

  it('rejects non-Op arguments', () => {
    assert.throws(() => recordingBuilder().builder.then('put k v' as unknown as Op), /then\[0\]: expected a Op/);
    assert.throws(() => recordingBuilder().builder.if(Op.get('a') as unknown as Compare), /if\[0\]: expected a Compare/);
  });

  it('awaiting a builder without commit rejects with an explanation instead of hanging', async () => {
    const { builder, sent } = recordingBuilder();
    await assert.rejects(
      (async () => await (builder.if(Compare.version('k', '==', 0)) as unknown as Promise<unknown>))(),
      /not a promise; call \.commit\(\)/,
    );
    assert.equal(sent.length, 0);
  });
});
