import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../src/index.js';
import { buildCompactRequest, buildDeleteRequest, buildPutRequest, buildRangeRequest } from '../../src/kv/requests.js';
import { decode, encode } from '../../src/protocol/codec.js';
import { norm } from './wire-norm.js';

const t = (s: string) => new TextEncoder().encode(s);
const zero = Uint8Array.of(0);

function invalid(fn: () => unknown, argument: string, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
    assert.equal(error.argument, argument);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('range requests', () => {
  it('a single key', () => {
    assert.deepEqual(norm(buildRangeRequest('a', undefined)), norm({ key: t('a') }));
  });

  it('prefix, fromKey, rangeEnd and the whole keyspace', () => {
    assert.deepEqual(norm(buildRangeRequest('ab', { prefix: true })), norm({ key: t('ab'), range_end: t('ac') }));
    assert.deepEqual(norm(buildRangeRequest('', { prefix: true })), norm({ key: zero, range_end: zero }));
    assert.deepEqual(norm(buildRangeRequest('k', { fromKey: true })), norm({ key: t('k'), range_end: zero }));
    assert.deepEqual(norm(buildRangeRequest('', { fromKey: true })), norm({ key: zero, range_end: zero }));
    assert.deepEqual(norm(buildRangeRequest('a', { rangeEnd: 'c' })), norm({ key: t('a'), range_end: t('c') }));
    assert.deepEqual(norm(buildRangeRequest(null, undefined)), norm({ key: zero, range_end: zero }));
  });

  it('all read options map to their wire fields', () => {
    const request = buildRangeRequest('a', {
      prefix: true,
      limit: 10,
      revision: 7n,
      sort: { target: 'mod', order: 'descend' },
      serializable: true,
      keysOnly: true,
      countOnly: false,
      minModRevision: 1,
      maxModRevision: 2n,
      minCreateRevision: 3,
      maxCreateRevision: 4,
    });
    assert.deepEqual(norm(request), norm({
      key: t('a'),
      range_end: t('b'),
      limit: 10n,
      revision: 7n,
      sort_target: 3,
      sort_order: 2,
      serializable: true,
      keys_only: true,
      count_only: false,
      min_mod_revision: 1n,
      max_mod_revision: 2n,
      min_create_revision: 3n,
      max_create_revision: 4n,
    }));
    const decoded = decode('etcdserverpb.RangeRequest', encode('etcdserverpb.RangeRequest', request));
    assert.equal(decoded.sort_target, 3);
    assert.equal(decoded.max_create_revision, 4n);
  });

  it('a sort target without an order sorts ascending; key order needs no sort', () => {
    assert.equal(buildRangeRequest('a', { sort: { target: 'create' } }).sort_order, 1);
    assert.equal(buildRangeRequest('a', { sort: {} }).sort_order, 0);
  });

  it('rejects bad input naming the argument', () => {
    invalid(() => buildRangeRequest('', undefined), 'key', /must not be empty/);
    invalid(() => buildRangeRequest('', {}), 'key');
    invalid(() => buildRangeRequest('a', { prefix: true, rangeEnd: 'b' }), 'options', /mutually exclusive, got prefix and rangeEnd/);
    invalid(() => buildRangeRequest('a', { prefix: true, fromKey: true }), 'options', /prefix and fromKey/);
    invalid(() => buildRangeRequest('a', { rangeEnd: '' }), 'options.rangeEnd', /must not be empty/);
    invalid(() => buildRangeRequest('a', { limit: 1.5 }), 'options.limit', /got 1\.5/);
    invalid(() => buildRangeRequest('a', { limit: -1 }), 'options.limit', /non-negative/);
    invalid(() => buildRangeRequest('a', { revision: -3n }), 'options.revision');
    invalid(() => buildRangeRequest('a', { revision: 2 ** 60 }), 'options.revision');
    invalid(() => buildRangeRequest('a', { minModRevision: -1 }), 'options.minModRevision');
    invalid(() => buildRangeRequest('a', { sort: { target: 'size' as 'key' } }), 'options.sort.target', /one of "key", "version"/);
    invalid(() => buildRangeRequest('a', { sort: { order: 'up' as 'none' } }), 'options.sort.order');
    invalid(() => buildRangeRequest('a', { keysOnly: 'yes' as unknown as boolean }), 'options.keysOnly');
    invalid(() => buildRangeRequest(7 as unknown as string, undefined), 'key', /string or Uint8Array/);
  });
});

describe('put, delete and compact requests', () => {
  it('put maps its options', () => {
    assert.deepEqual(norm(buildPutRequest('k', 'v', undefined)), norm({ key: t('k'), value: t('v') }));
    assert.deepEqual(norm(buildPutRequest('k', '', { lease: 123456789012345678n, prevKv: true, ignoreLease: false })), norm({
      key: t('k'),
      value: new Uint8Array(0),
      lease: 123456789012345678n,
      prev_kv: true,
      ignore_lease: false,
    }));
    invalid(() => buildPutRequest('', 'v', undefined), 'key');
    invalid(() => buildPutRequest('k', undefined as unknown as string, undefined), 'value');
    invalid(() => buildPutRequest('k', 'v', { lease: 1.5 }), 'options.lease');
  });

  it('delete takes the same range selectors', () => {
    assert.deepEqual(norm(buildDeleteRequest('p/', { prefix: true, prevKv: true })), norm({
      key: t('p/'),
      range_end: t('p0'),
      prev_kv: true,
    }));
    assert.deepEqual(norm(buildDeleteRequest(null, undefined)), norm({ key: zero, range_end: zero }));
    invalid(() => buildDeleteRequest('a', { fromKey: true, rangeEnd: 'z' }), 'options');
  });

  it('compact needs a positive revision', () => {
    assert.deepEqual(norm(buildCompactRequest(5, true)), norm({ revision: 5n, physical: true }));
    invalid(() => buildCompactRequest(0, undefined), 'revision', /positive/);
    invalid(() => buildCompactRequest('5' as unknown as number, undefined), 'revision');
  });
});
