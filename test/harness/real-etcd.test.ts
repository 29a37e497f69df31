import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { etcdAvailable, startRealEtcd, type RealEtcdHandle } from './real-etcd.js';
import { etcdctl } from './etcdctl.js';

describe('harness: real etcd', { skip: etcdAvailable() }, () => {
  let etcd: RealEtcdHandle | undefined;
  after(async () => {
    await etcd?.stop();
  });

  it('starts, serves etcdctl, restarts with data and port kept, pauses, and stops cleanly', { timeout: 60_000 }, async () => {
    etcd = await startRealEtcd();
    assert.match(etcd.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(etcd.url, `http://${etcd.endpoint}`);
    assert.ok(existsSync(etcd.dataDir));

    const put = await etcdctl(etcd.endpoint, ['put', 'harness-key', 'v1']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout.trim(), 'OK');

    const firstPid = etcd.process.pid;
    await etcd.restart();
    assert.notEqual(etcd.process.pid, firstPid);
    const got = await etcdctl(etcd.endpoint, ['get', 'harness-key', '--print-value-only']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.trim(), 'v1');

    etcd.pause();
    const frozen = await etcdctl(etcd.endpoint, ['get', 'harness-key', '--command-timeout=1s'], { dialTimeout: '1s' });
    assert.notEqual(frozen.code, 0, 'a paused etcd must not answer');
    etcd.resume();
    const thawed = await etcdctl(etcd.endpoint, ['get', 'harness-key', '--print-value-only']);
    assert.equal(thawed.code, 0, thawed.stderr);
    assert.equal(thawed.stdout.trim(), 'v1');

    const child = etcd.process;
    const dataDir = etcd.dataDir;
    await etcd.stop();
    assert.ok(child.exitCode !== null || child.signalCode !== null, 'etcd process must have exited');
    assert.equal(existsSync(dataDir), false, 'data dir must be removed');
    const gone = await etcdctl(etcd.endpoint, ['get', 'harness-key', '--command-timeout=1s'], { dialTimeout: '1s' });
    assert.notEqual(gone.code, 0, 'a stopped etcd must not answer');
  });

  it('stops a paused etcd within the bound', { timeout: 30_000 }, async () => {
    const paused = await startRealEtcd();
    paused.pause();
    await paused.stop();
    assert.ok(paused.process.exitCode !== null || paused.process.signalCode !== null);
  });
});
