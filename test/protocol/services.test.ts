import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import {
  grpcServiceDefinition,
  methodDef,
  serviceDefinitions,
} from '../../src/protocol/services.js';
import { serviceSchemas } from '../../src/protocol/schema.generated.js';
import type { RangeRequest, RangeResponse, WatchRequest, WatchResponse } from '../../src/protocol/messages.generated.js';
import type { Init } from '../../src/protocol/messages.generated.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('service definitions', () => {
  it('cover every schema method with etcd paths and streaming flags', () => {
    const expected: Record<string, string[]> = {
      KV: ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
      Watch: ['Watch'],
      Lease: ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases'],
      Cluster: ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberList', 'MemberPromote'],
      Maintenance: ['Alarm', 'Status', 'Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader', 'Downgrade'],
      Auth: [
        'AuthEnable', 'AuthDisable', 'AuthStatus', 'Authenticate', 'UserAdd', 'UserGet', 'UserList',
        'UserDelete', 'UserChangePassword', 'UserGrantRole', 'UserRevokeRole', 'RoleAdd', 'RoleGet',
        'RoleList', 'RoleDelete', 'RoleGrantPermission', 'RoleRevokePermission',
      ],
    };
    assert.deepEqual(Object.keys(serviceDefinitions), Object.keys(expected));
    for (const [svc, methods] of Object.entries(expected)) {
      const defs = serviceDefinitions[svc as keyof typeof serviceDefinitions] as Record<string, { path: string; originalName: string }>;
      assert.deepEqual(Object.keys(defs), methods, svc);
      for (const m of methods) {
        assert.equal(defs[m]!.path, `/etcdserverpb.${svc}/${m}`);
        assert.equal(defs[m]!.originalName, m);
      }
      assert.equal(serviceSchemas[svc as keyof typeof serviceSchemas].fullName, `etcdserverpb.${svc}`);
    }
    const watch = methodDef('Watch', 'Watch');
    assert.equal(watch.requestStream, true);
    assert.equal(watch.responseStream, true);
    const snap = methodDef('Maintenance', 'Snapshot');
    assert.equal(snap.requestStream, false);
    assert.equal(snap.responseStream, true);
    const ka = methodDef('Lease', 'LeaseKeepAlive');
    assert.equal(ka.requestStream && ka.responseStream, true);
    assert.equal(methodDef('KV', 'Range').requestStream, false);
    assert.throws(() => methodDef('KV', 'Nope' as 'Range'), /unknown etcd method KV\.Nope/);
  });

  describe('over grpc-js', () => {
    let server: grpc.Server;
    let client: grpc.Client;
    const seen: RangeRequest[] = [];

    before(async () => {
      server = new grpc.Server();
      server.addService(grpcServiceDefinition('KV'), {
        Range(call: grpc.ServerUnaryCall<RangeRequest, Init<RangeResponse>>, cb: grpc.sendUnaryData<Init<RangeResponse>>) {
          seen.push(call.request);
          const key = text(call.request.key);
          if (key === 'fail') {
            cb({ code: grpc.status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' });
            return;
          }
          cb(null, {
            header: { cluster_id: 2n ** 64n - 1n, revision: 42n },
            kvs: [{ key: call.request.key, value: Buffer.from(`value of ${key}`), version: 1n, mod_revision: 42n }],
            count: 1n,
          });
        },
      });
      server.addService(grpcServiceDefinition('Watch'), {
        Watch(call: grpc.ServerDuplexStream<WatchRequest, Init<WatchResponse>>) {
          call.on('data', (req: WatchRequest) => {
            if (req.create_request) {
              call.write({ header: { revision: 7n }, watch_id: req.create_request.watch_id, created: true });
            } else if (req.cancel_request) {
              call.write({ watch_id: req.cancel_request.watch_id, canceled: true });
              call.end();
            }
          });
          call.on('error', () => {});
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });

    after(async () => {
      client?.close();
      await new Promise<void>((resolve) => (server ? server.tryShutdown(() => resolve()) : resolve()));
    });

    const range = (req: Init<RangeRequest>): Promise<RangeResponse> => {
      const def = methodDef('KV', 'Range');
      return new Promise((resolve, reject) =>
        client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, (err, res) =>
          err ? reject(err) : resolve(res!),
        ),
      );
    };

    it('serves a unary KV.Range through the definitions', async () => {
      const res = await range({ key: Buffer.from('hello'), limit: 10n, sort_order: 2 });
      assert.equal(res.header?.cluster_id, 2n ** 64n - 1n);
      assert.equal(res.header?.revision, 42n);
      assert.equal(res.count, 1n);
      assert.equal(res.more, false);
      assert.equal(res.kvs.length, 1);
      assert.equal(text(res.kvs[0]!.key), 'hello');
      assert.equal(text(res.kvs[0]!.value), 'value of hello');
      assert.equal(res.kvs[0]!.lease, 0n);
      const req = seen.at(-1)!;
      assert.equal(req.limit, 10n);
      assert.equal(req.sort_order, 2);
      assert.equal(req.revision, 0n);
    });

    it('passes server errors through as gRPC status', async () => {
      await assert.rejects(range({ key: Buffer.from('fail') }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(err.details, 'etcdserver: key is not provided');
        return true;
      });
    });

    it('rejects invalid client input before sending', async () => {
      await assert.rejects(range({ limit: 'ten' as unknown as bigint }), /etcdserverpb\.RangeRequest\.limit/);
    });

    it('serves a bidi Watch stream', async () => {
      const def = methodDef('Watch', 'Watch');
      const call = client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize);
      const got: WatchResponse[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (res: WatchResponse) => {
          got.push(res);
          if (res.created) call.write({ cancel_request: { watch_id: res.watch_id } });
        });
        call.on('end', () => resolve());
        call.on('error', reject);
      });
      call.write({ create_request: { key: Buffer.from('k'), watch_id: 5n } });
      await done;
      call.end();
      assert.equal(got.length, 2);
      assert.equal(got[0]!.created, true);
      assert.equal(got[0]!.watch_id, 5n);
      assert.equal(got[0]!.header?.revision, 7n);
      assert.equal(got[1]!.canceled, true);
      assert.equal(got[1]!.watch_id, 5n);
      assert.equal(got[1]!.header, undefined);
    });
  });
});
