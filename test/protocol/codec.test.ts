import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodecError, decode, encode, messageCodec, type MessageName } from '../../src/protocol/codec.js';
import type { Init, MessageTypes } from '../../src/protocol/messages.generated.js';
import { messageSchemas } from '../../src/protocol/schema.generated.js';
import { canon, pbDecode, pbEncode } from './pb-reference.js';

const b = (s: string): Buffer => Buffer.from(s);
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/**
 * Both directions against protobufjs: ours -> protobufjs and protobufjs -> ours must agree, and
 * (when `sameBytes`) both encoders produce identical bytes. Returns our decode of our bytes.
 */
function roundTrip<N extends MessageName>(name: N, init: Init<MessageTypes[N]>, sameBytes = true): MessageTypes[N] {
  const ours = encode(name, init);
  const theirs = pbEncode(name, init);
  if (sameBytes) assert.equal(ours.toString('hex'), theirs.toString('hex'), `${name}: bytes differ`);
  const oursDecoded = decode(name, ours);
  assert.deepEqual(canon(oursDecoded), canon(pbDecode(name, ours)), `${name}: protobufjs reads our bytes differently`);
  assert.deepEqual(canon(decode(name, theirs)), canon(oursDecoded), `${name}: we read protobufjs bytes differently`);
  return oursDecoded;
}

/** Appends raw protobuf bytes (hand-built) to a buffer. */
const cat = (...parts: (Buffer | number[])[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('codec round trips against protobufjs', () => {
  it('RangeRequest with every field, enums and int64 extremes', () => {
    const m = roundTrip('etcdserverpb.RangeRequest', {
      key: b('foo'),
      range_end: b('fop'),
      limit: I64_MAX,
      revision: I64_MIN,
      sort_order: 2,
      sort_target: 4,
      serializable: true,
      keys_only: true,
      count_only: true,
      min_mod_revision: 1n,
      max_mod_revision: 2n ** 53n,
      min_create_revision: 2n ** 53n + 1n,
      max_create_revision: -1n,
    });
    assert.equal(m.limit, I64_MAX);
    assert.equal(m.revision, I64_MIN);
    assert.equal(m.max_create_revision, -1n);
    assert.equal(m.min_create_revision, 2n ** 53n + 1n);
    assert.equal(m.sort_target, 4);
  });

  it('RangeRequest with negative int32 enum values (10-byte varints)', () => {
    const bytes = encode('etcdserverpb.RangeRequest', { sort_order: -1 as 0, sort_target: -2147483648 as 0 });
    assert.equal(bytes.length, 22);
    const m = roundTrip('etcdserverpb.RangeRequest', { sort_order: -1 as 0, sort_target: -2147483648 as 0 });
    assert.equal(m.sort_order, -1);
    assert.equal(m.sort_target, -2147483648);
  });

  it('RangeResponse with many kvs, header uint64 values and empty bytes', () => {
    const kvs = Array.from({ length: 50 }, (_, i) => ({
      key: b(`key/${i}`),
      value: i % 5 === 0 ? new Uint8Array(0) : b('v'.repeat(i * 7)),
      create_revision: BigInt(i * 1000),
      mod_revision: BigInt(i) * 2n ** 40n,
      version: BigInt(i),
      lease: i % 2 ? -BigInt(i) : 0n,
    }));
    const m = roundTrip('etcdserverpb.RangeResponse', {
      header: { cluster_id: U64_MAX, member_id: 2n ** 63n + 5n, revision: 99n, raft_term: 2n },
      kvs,
      more: true,
      count: 123456789012n,
    });
    assert.equal(m.kvs.length, 50);
    assert.equal(m.header?.cluster_id, U64_MAX);
    assert.equal(m.header?.member_id, 2n ** 63n + 5n);
    assert.equal(m.kvs[3]!.lease, -3n);
    assert.equal(m.kvs[5]!.value.length, 0);
    assert.equal(Buffer.from(m.kvs[7]!.key).toString(), 'key/7');
  });

  it('PutRequest and PutResponse', () => {
    roundTrip('etcdserverpb.PutRequest', { key: b('k'), value: b('v'), lease: 7587862352637451008n, prev_kv: true, ignore_value: true, ignore_lease: true });
    const r = roundTrip('etcdserverpb.PutResponse', { header: {}, prev_kv: { key: b('k'), version: 3n } });
    assert.ok(r.header, 'an empty present header is still present');
    assert.equal(r.header.revision, 0n);
    assert.equal(r.prev_kv?.version, 3n);
  });

  it('Compare sends oneof members even when zero', () => {
    for (const [member, value] of [
      ['version', 0n],
      ['create_revision', 0n],
      ['mod_revision', 0n],
      ['lease', 0n],
      ['value', new Uint8Array(0)],
    ] as const) {
      const init = { key: b('k'), result: 0, target: 0, [member]: value } as Init<MessageTypes['etcdserverpb.Compare']>;
      const bytes = encode('etcdserverpb.Compare', init);
      const m = roundTrip('etcdserverpb.Compare', init);
      assert.ok(bytes.length > 3, `${member} written`);
      assert.deepEqual(canon((m as unknown as Record<string, unknown>)[member]), canon(value), member);
      for (const other of ['version', 'create_revision', 'mod_revision', 'lease', 'value']) {
        if (other !== member) assert.equal((m as unknown as Record<string, unknown>)[other], undefined);
      }
    }
    const m = roundTrip('etcdserverpb.Compare', { result: 3, target: 3, key: b('a'), value: b('x'), range_end: b('\0') });
    assert.equal(m.result, 3);
    assert.deepEqual([...m.range_end], [0]);
    // No oneof member set: all undefined.
    const none = decode('etcdserverpb.Compare', encode('etcdserverpb.Compare', { key: b('a') }));
    assert.equal(none.version, undefined);
    assert.equal(none.value, undefined);
  });

  it('the last oneof member on the wire wins', () => {
    const bytes = cat(encode('etcdserverpb.Compare', { version: 5n }), encode('etcdserverpb.Compare', { mod_revision: 6n }));
    const m = decode('etcdserverpb.Compare', bytes);
    assert.equal(m.version, undefined);
    assert.equal(m.mod_revision, 6n);
  });

  it('nested TxnRequest and TxnResponse', () => {
    const req = roundTrip('etcdserverpb.TxnRequest', {
      compare: [
        { key: b('a'), target: 0, result: 0, version: 0n },
        { key: b('b'), target: 2, result: 2, mod_revision: 10n },
      ],
      success: [
        { request_put: { key: b('a'), value: b('1') } },
        { request_range: { key: b('a'), range_end: b('b'), limit: 1n } },
        { request_delete_range: { key: b('c'), prev_kv: true } },
        {
          request_txn: {
            compare: [{ key: b('x'), value: b('y'), target: 3 }],
            success: [{ request_put: { key: b('x'), value: b('z') } }],
            failure: [{ request_range: {} }],
          },
        },
      ],
      failure: [{ request_range: { key: b('a') } }],
    });
    assert.equal(req.compare.length, 2);
    assert.equal(req.compare[0]!.version, 0n);
    assert.equal(req.success.length, 4);
    assert.ok(req.success[3]!.request_txn);
    assert.equal(req.success[3]!.request_txn.failure.length, 1);
    assert.ok(req.success[3]!.request_txn.failure[0]!.request_range, 'empty nested request still present');
    assert.equal(req.success[0]!.request_range, undefined);

    const res = roundTrip('etcdserverpb.TxnResponse', {
      header: { revision: 12n, cluster_id: U64_MAX },
      succeeded: true,
      responses: [
        { response_put: { header: { revision: 12n } } },
        { response_range: { header: { revision: 12n }, kvs: [{ key: b('a'), value: b('1'), version: 1n }], count: 1n } },
        { response_delete_range: { deleted: 3n, prev_kvs: [{ key: b('c') }] } },
        { response_txn: { header: {}, succeeded: false, responses: [{ response_range: {} }] } },
      ],
    });
    assert.equal(res.succeeded, true);
    assert.equal(res.responses[2]!.response_delete_range?.deleted, 3n);
    assert.equal(res.responses[3]!.response_txn?.responses.length, 1);
  });

  it('WatchRequest variants and WatchResponse (filters packed)', () => {
    const create = roundTrip('etcdserverpb.WatchRequest', {
      create_request: { key: b('k'), range_end: b('l'), start_revision: 5n, progress_notify: true, filters: [0, 1], prev_kv: true, watch_id: -1n, fragment: true },
    });
    assert.deepEqual(create.create_request?.filters, [0, 1]);
    assert.equal(create.create_request?.watch_id, -1n);
    // Field 5 must be one packed record: tag 0x2a, length 2, values 0 and 1.
    const bytes = encode('etcdserverpb.WatchCreateRequest', { filters: [0, 1] });
    assert.equal(bytes.toString('hex'), '2a020001');

    roundTrip('etcdserverpb.WatchRequest', { cancel_request: { watch_id: 0n } });
    const cancel0 = decode('etcdserverpb.WatchRequest', encode('etcdserverpb.WatchRequest', { cancel_request: {} }));
    assert.equal(cancel0.cancel_request?.watch_id, 0n);
    const progress = roundTrip('etcdserverpb.WatchRequest', { progress_request: {} });
    assert.deepEqual(progress.progress_request, {});
    assert.equal(progress.create_request, undefined);

    const res = roundTrip('etcdserverpb.WatchResponse', {
      header: { revision: 100n },
      watch_id: 3n,
      created: true,
      canceled: true,
      compact_revision: 50n,
      cancel_reason: 'mvcc: required revision has been compacted ✓',
      fragment: true,
      events: [
        { type: 0, kv: { key: b('a'), value: b('1'), mod_revision: 100n } },
        { type: 1, kv: { key: b('b'), mod_revision: 100n }, prev_kv: { key: b('b'), value: b('old') } },
      ],
    });
    assert.equal(res.events[1]!.type, 1);
    assert.equal(res.events[0]!.prev_kv, undefined);
    assert.equal(res.cancel_reason, 'mvcc: required revision has been compacted ✓');
  });

  it('accepts unpacked repeated enums too', () => {
    const unpacked = Buffer.from([0x28, 0x01, 0x28, 0x00, 0x28, 0x01]);
    assert.deepEqual(decode('etcdserverpb.WatchCreateRequest', unpacked).filters, [1, 0, 1]);
    const mixed = Buffer.from([0x2a, 0x02, 0x00, 0x01, 0x28, 0x01]);
    assert.deepEqual(decode('etcdserverpb.WatchCreateRequest', mixed).filters, [0, 1, 1]);
  });

  it('lease messages with negative IDs', () => {
    const g = roundTrip('etcdserverpb.LeaseGrantRequest', { TTL: 60n, ID: -42n });
    assert.equal(g.ID, -42n);
    assert.equal(g.TTL, 60n);
    roundTrip('etcdserverpb.LeaseGrantResponse', { header: { revision: 1n }, ID: I64_MIN, TTL: I64_MAX, error: 'bad' });
    roundTrip('etcdserverpb.LeaseKeepAliveResponse', { ID: 7587862352637451008n, TTL: -1n });
    const ttl = roundTrip('etcdserverpb.LeaseTimeToLiveResponse', { ID: 1n, TTL: -1n, grantedTTL: 10n, keys: [b('a'), new Uint8Array(0), b('c')] });
    assert.equal(ttl.keys.length, 3, 'empty repeated bytes elements are kept');
    assert.equal(ttl.keys[1]!.length, 0);
    roundTrip('etcdserverpb.LeaseLeasesResponse', { leases: [{ ID: 1n }, { ID: -1n }, {}] });
  });

  it('Member with uint64 IDs above 2^63 and repeated strings', () => {
    const m = roundTrip('etcdserverpb.MemberListResponse', {
      header: { cluster_id: 15875391935852295136n, member_id: 15875391935852295136n, raft_term: 2n },
      members: [
        { ID: 15875391935852295136n, name: 'default', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379', 'http://[::1]:2379'] },
        { ID: U64_MAX, isLearner: true, peerURLs: ['', 'x'] },
      ],
    });
    assert.equal(m.members[0]!.ID, 15875391935852295136n);
    assert.equal(m.members[1]!.ID, U64_MAX);
    assert.deepEqual(m.members[1]!.peerURLs, ['', 'x']);
    assert.deepEqual(m.members[1]!.clientURLs, []);
    assert.equal(m.members[1]!.name, '');
  });

  it('StatusResponse (3.4 to 3.6 fields)', () => {
    const m = roundTrip('etcdserverpb.StatusResponse', {
      header: { revision: 1n },
      version: '3.6.0',
      dbSize: 20480n,
      leader: U64_MAX,
      raftIndex: 5n,
      raftTerm: 2n,
      raftAppliedIndex: 5n,
      errors: ['memberID:1 alarm:NOSPACE', 'é'],
      dbSizeInUse: 16384n,
      isLearner: true,
      storageVersion: '3.6.0',
      dbSizeQuota: 2147483648n,
      downgradeInfo: { enabled: true, targetVersion: '3.5.0' },
    });
    assert.equal(m.downgradeInfo?.targetVersion, '3.5.0');
    assert.deepEqual(m.errors, ['memberID:1 alarm:NOSPACE', 'é']);
  });

  it('auth messages', () => {
    const m = roundTrip('etcdserverpb.AuthRoleGrantPermissionRequest', { name: 'role', perm: { permType: 2, key: b('a'), range_end: b('\0') } });
    assert.equal(m.perm?.permType, 2);
    roundTrip('etcdserverpb.AuthRoleGetResponse', { perm: [{ permType: 0, key: b('x') }, { permType: 1 }] });
    roundTrip('etcdserverpb.AuthUserAddRequest', { name: 'u', password: 'p', options: { no_password: true }, hashedPassword: 'h' });
    roundTrip('etcdserverpb.AuthStatusResponse', { enabled: true, authRevision: U64_MAX });
    roundTrip('authpb.Role', { name: b('r'), keyPermission: [{ key: b('k') }] });
    roundTrip('authpb.User', { name: b('u'), roles: ['a', 'b'], options: {} });
  });

  it('maintenance and cluster messages', () => {
    roundTrip('etcdserverpb.AlarmRequest', { action: 1, memberID: U64_MAX, alarm: 2 });
    roundTrip('etcdserverpb.AlarmResponse', { alarms: [{ memberID: 1n, alarm: 1 }, { alarm: 0 }] });
    roundTrip('etcdserverpb.HashKVResponse', { hash: 0xffffffff, compact_revision: 3n, hash_revision: 9n });
    roundTrip('etcdserverpb.SnapshotResponse', { remaining_bytes: 2n ** 40n, blob: Buffer.alloc(1000, 7), version: '3.6.0' });
    roundTrip('etcdserverpb.MemberAddRequest', { peerURLs: ['http://a:1'], isLearner: true });
    roundTrip('etcdserverpb.DowngradeRequest', { action: 2, version: '3.5' });
    roundTrip('etcdserverpb.MoveLeaderRequest', { targetID: U64_MAX });
  });

  it('every message type encodes empty input to zero bytes and decodes it to defaults', () => {
    for (const name of Object.keys(messageSchemas) as MessageName[]) {
      const bytes = encode(name, {});
      assert.equal(bytes.length, 0, name);
      const m = decode(name, bytes) as unknown as Record<string, unknown>;
      assert.deepEqual(canon(m), canon(pbDecode(name, bytes)), name);
      for (const f of messageSchemas[name].fields) {
        assert.ok(Object.hasOwn(m, f.name), `${name}.${f.name} is an own property`);
        if (f.repeated) assert.deepEqual(m[f.name], [], `${name}.${f.name}`);
        else if (f.type === 'message' || f.oneof) assert.equal(m[f.name], undefined, `${name}.${f.name}`);
        else assert.notEqual(m[f.name], undefined, `${name}.${f.name}`);
      }
    }
  });

  it('encode skips explicit proto3 defaults', () => {
    const bytes = encode('etcdserverpb.PutRequest', { key: new Uint8Array(0), value: new Uint8Array(0), lease: 0n, prev_kv: false });
    assert.equal(bytes.length, 0);
    assert.equal(encode('etcdserverpb.AuthenticateRequest', { name: '', password: '' }).length, 0);
    assert.equal(encode('etcdserverpb.RangeRequest', { sort_order: 0, limit: 0n }).length, 0);
  });

  it('fuzz: random KeyValue and ResponseHeader values agree with protobufjs', () => {
    let seed = 0x2f6b9a1d;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const rndBig = (unsigned: boolean): bigint => {
      const bits = BigInt(Math.floor(rnd() * 65));
      let v = 0n;
      for (let i = 0n; i < bits; i += 16n) v = (v << 16n) | BigInt(Math.floor(rnd() * 65536));
      v &= (1n << bits) - 1n;
      return unsigned ? BigInt.asUintN(64, v) : BigInt.asIntN(64, v);
    };
    const rndBytes = (): Uint8Array => Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
    for (let i = 0; i < 300; i++) {
      roundTrip('mvccpb.KeyValue', {
        key: rndBytes(),
        create_revision: rndBig(false),
        mod_revision: rndBig(false),
        version: rndBig(false),
        value: rndBytes(),
        lease: rndBig(false),
      });
      roundTrip('etcdserverpb.ResponseHeader', { cluster_id: rndBig(true), member_id: rndBig(true), revision: rndBig(false), raft_term: rndBig(true) });
      roundTrip('etcdserverpb.HashResponse', { hash: Math.floor(rnd() * 4294967296) });
    }
  });
});

describe('codec decoding rules', () => {
  it('decoded bytes are zero-copy views of the input', () => {
    const input = encode('etcdserverpb.RangeResponse', { kvs: [{ key: b('key'), value: b('value') }] });
    const m = decode('etcdserverpb.RangeResponse', input);
    const kv = m.kvs[0]!;
    assert.equal(kv.key.buffer, input.buffer);
    assert.ok(kv.key instanceof Uint8Array);
    input[input.indexOf(b('value'))] = 'V'.charCodeAt(0);
    assert.equal(Buffer.from(kv.value).toString(), 'Value');
  });

  it('decodes from a plain Uint8Array at a non-zero offset', () => {
    const bytes = encode('etcdserverpb.PutRequest', { key: b('k'), value: b('v'), lease: 5n });
    const backing = new Uint8Array(bytes.length + 10);
    backing.set(bytes, 7);
    const m = decode('etcdserverpb.PutRequest', backing.subarray(7, 7 + bytes.length));
    assert.equal(Buffer.from(m.key).toString(), 'k');
    assert.equal(m.lease, 5n);
  });

  it('skips unknown fields of every wire type', () => {
    const known = encode('etcdserverpb.PutRequest', { key: b('k'), value: b('v'), lease: 9n, prev_kv: true });
    const unknown = cat(
      [0xa0, 0x06, 0x96, 0x01], // field 100 varint 150
      [0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8], // field 101 fixed64
      [0xb2, 0x06, 0x03, 0x61, 0x62, 0x63], // field 102 length-delimited "abc"
      [0xbd, 0x06, 1, 2, 3, 4], // field 103 fixed32
      [0xc3, 0x06, 0x08, 0x01, 0xc4, 0x06], // field 104 group containing field 1 varint 1
      [0x08, 0x05], // field 1 with the wrong wire type (varint instead of bytes): skipped
    );
    const m = decode('etcdserverpb.PutRequest', cat(unknown.subarray(0, 4), known, unknown.subarray(4)));
    assert.deepEqual(canon(m), canon(decode('etcdserverpb.PutRequest', known)));
    assert.equal(m.lease, 9n);
    // protobufjs agrees the message is readable.
    assert.doesNotThrow(() => pbDecode('etcdserverpb.PutRequest', cat(known, unknown.subarray(0, 32))));
  });

  it('a repeated singular message field: the last one wins; repeated fields accumulate', () => {
    const bytes = cat(
      encode('etcdserverpb.RangeResponse', { header: { revision: 1n }, kvs: [{ key: b('a') }] }),
      encode('etcdserverpb.RangeResponse', { header: { revision: 2n }, kvs: [{ key: b('b') }] }),
    );
    const m = decode('etcdserverpb.RangeResponse', bytes);
    assert.equal(m.header?.revision, 2n);
    assert.equal(m.kvs.length, 2);
  });

  it('malformed input throws CodecError with a clear message', () => {
    const valid = encode('etcdserverpb.RangeResponse', {
      header: { revision: 300n },
      kvs: [{ key: b('key'), value: b('value'), lease: -1n }],
      count: 1n,
    });
    let threw = 0;
    for (let cut = 1; cut < valid.length; cut++) {
      try {
        decode('etcdserverpb.RangeResponse', valid.subarray(0, cut));
      } catch (err) {
        assert.ok(err instanceof CodecError, `cut ${cut}: ${String(err)}`);
        assert.match(err.message, /^cannot decode etcdserverpb\.RangeResponse: /);
        threw++;
      }
    }
    assert.ok(threw > valid.length / 2, 'most truncations are detected');
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x18, 0x80])), /truncated input at byte/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x0a, 0x05, 0x61])), /length 5 at byte 1 runs past the end/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x0e, 0x00])), /invalid wire type 6/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x0f, 0x00])), /invalid wire type 7/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x02, 0x00])), /invalid field number 0/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0xa4, 0x06])), /unexpected end-group/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0xa3, 0x06, 0xac, 0x06])), /mismatched end-group/);
    assert.throws(() => decode('etcdserverpb.PutRequest', Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /varint longer than 10 bytes/);
    // Nested message whose length exceeds its parent's (but not the whole buffer).
    const nested = Buffer.from([0x12, 0x02, 0x0a, 0x05, 0x61, 0x61, 0x61, 0x61, 0x61]);
    assert.throws(() => decode('etcdserverpb.RangeResponse', nested), /overruns its message/);
    assert.throws(() => decode('etcdserverpb.Nope' as MessageName, Buffer.alloc(0)), /unknown message type "etcdserverpb.Nope"/);
    assert.throws(() => decode('etcdserverpb.PutRequest', 'abc' as unknown as Uint8Array), CodecError);
  });

  it('messageCodec binds one type', () => {
    const c = messageCodec('etcdserverpb.LeaseGrantRequest');
    const bytes = c.encode({ TTL: 5n });
    assert.equal(c.decode(bytes).TTL, 5n);
    assert.throws(() => messageCodec('x.Y' as MessageName), /unknown message type/);
  });
});

describe('codec encoder input validation', () => {
  const put = (init: Record<string, unknown>) => () => encode('etcdserverpb.PutRequest', init as Init<MessageTypes['etcdserverpb.PutRequest']>);
  it('names the bad field and what was expected', () => {
    assert.throws(put({ lease: '5' }), /cannot encode etcdserverpb\.PutRequest: invalid etcdserverpb\.PutRequest\.lease: expected an int64 bigint, got string "5"/);
    assert.throws(put({ lease: 1.5 }), /PutRequest\.lease: expected an int64 bigint, got number 1\.5/);
    assert.throws(put({ lease: 2n ** 63n }), /PutRequest\.lease: expected an int64 in \[-2\^63, 2\^63-1\]/);
    assert.throws(put({ lease: I64_MIN - 1n }), /PutRequest\.lease/);
    assert.throws(put({ key: 'text' }), /PutRequest\.key: expected a Uint8Array, got string "text"/);
    assert.throws(put({ prev_kv: 1 }), /PutRequest\.prev_kv: expected a boolean, got number 1/);
    assert.throws(
      () => encode('etcdserverpb.Member', { ID: -1n }),
      /etcdserverpb\.Member\.ID: expected a uint64 in \[0, 2\^64-1\], got bigint -1n/,
    );
    assert.throws(() => encode('etcdserverpb.Member', { ID: 2n ** 64n }), /Member\.ID/);
    assert.throws(() => encode('etcdserverpb.Member', { peerURLs: 'x' as unknown as string[] }), /Member\.peerURLs: expected an array/);
    assert.throws(() => encode('etcdserverpb.Member', { peerURLs: [5 as unknown as string] }), /Member\.peerURLs\[\]: expected a string, got number 5/);
    assert.throws(() => encode('etcdserverpb.RangeRequest', { sort_order: 2 ** 31 as 0 }), /RangeRequest\.sort_order: expected an int32 number/);
    assert.throws(() => encode('etcdserverpb.HashResponse', { hash: -1 }), /HashResponse\.hash: expected a uint32 number/);
    assert.throws(() => encode('etcdserverpb.PutResponse', { header: 5 as unknown as object }), /PutResponse\.header: expected a message object, got number 5/);
    assert.throws(() => encode('etcdserverpb.RangeResponse', { kvs: [null as unknown as object] }), /RangeResponse\.kvs\[\]: expected a message object, got null/);
    assert.throws(
      () => encode('etcdserverpb.Compare', { version: 1n, mod_revision: 2n }),
      /invalid etcdserverpb\.Compare\.target_union: more than one member of the oneof is set/,
    );
    assert.throws(() => encode('etcdserverpb.PutRequest', 'x' as unknown as object), /expected a message object, got string/);
    assert.throws(() => encode('nope.Nope' as MessageName, {}), /unknown message type/);
  });

  it('accepts safe-integer numbers for 64-bit fields and treats null as absent', () => {
    const bytes = encode('etcdserverpb.PutRequest', { lease: 5 as unknown as bigint, key: null as unknown as Uint8Array });
    assert.deepEqual(bytes, encode('etcdserverpb.PutRequest', { lease: 5n }));
    assert.deepEqual(encode('etcdserverpb.PutRequest', { lease: -5 as unknown as bigint }), encode('etcdserverpb.PutRequest', { lease: -5n }));
    assert.equal(encode('etcdserverpb.PutRequest', undefined as unknown as object).length, 0);
  });

  it('varint boundaries encode like protobufjs', () => {
    const values = [0n, 1n, 127n, 128n, 16383n, 16384n, 2n ** 28n - 1n, 2n ** 28n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n,
      2n ** 35n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 56n - 1n, 2n ** 56n, 2n ** 63n - 1n];
    for (const v of values) {
      roundTrip('etcdserverpb.LeaseGrantRequest', { ID: v, TTL: -v });
      roundTrip('etcdserverpb.MemberRemoveRequest', { ID: v });
      roundTrip('etcdserverpb.MemberRemoveRequest', { ID: U64_MAX - v });
    }
  });
});
