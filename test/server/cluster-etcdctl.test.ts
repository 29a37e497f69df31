/**
 * The simulated cluster through etcdctl 3.4 (`member list`, `endpoint status`, with and
 * without `--cluster`, `move-leader`) and through the CLI (`etcdkit serve --members 3`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startCluster, type EtcdCluster } from '../../src/server/index.js';
import { etcdctl } from '../harness/etcdctl.js';
import { ETCDCTL_BIN } from '../harness/real-etcd.js';
import { within } from './cluster-harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(ETCDCTL_BIN) ? false : `${ETCDCTL_BIN} is not installed`;

const hex = (id: bigint): string => id.toString(16);

/** `endpoint status` lines: url, id, version, db size, is leader, is learner, term, index, applied, errors. */
function statusRows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(', ').map((f) => f.trim()));
}

describe('etcdctl 3.4 against a 3-member cluster', { skip }, () => {
  let cluster: EtcdCluster;

  before(async () => {
    cluster = await startCluster({ members: 3 });
  });
  after(async () => {
    await cluster.close();
  });

  test('member list shows every member, started, with its client URL', async () => {
    const r = await etcdctl(cluster.urls[1]!, ['member', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(', ').filter((_, i) => i !== 3)),
      cluster.members.map((m) => [hex(m.memberId), 'started', m.name, m.url, 'false']),
    );
  });

  test('endpoint status --cluster: one row per member, one leader, the same term and index', async () => {
    const r = await etcdctl(cluster.urls[0]!, ['endpoint', 'status', '--cluster']);
    assert.equal(r.code, 0, r.stderr);
    const rows = statusRows(r.stdout);
    assert.deepEqual(
      rows.map((row) => [row[0], row[1], row[4], row[5]]),
      cluster.members.map((m, i) => [m.url, hex(m.memberId), String(i === 0), 'false']),
    );
    assert.equal(new Set(rows.map((row) => `${row[6]}/${row[7]}`)).size, 1);
  });

  test('endpoint status with every endpoint shows a leaderless member and a moved leader', async () => {
    const [m0, m1, m2] = cluster.members;
    m1!.loseLeader();
    try {
      const r = await etcdctl(cluster.endpoints.join(','), ['endpoint', 'status']);
      assert.equal(r.code, 0, r.stderr);
      const rows = statusRows(r.stdout);
      assert.deepEqual(
        rows.map((row) => [row[0], row[4], row.slice(9).join(', ')]),
        [
          [m0!.endpoint, 'true', ''],
          [m1!.endpoint, 'false', 'etcdserver: no leader'],
          [m2!.endpoint, 'false', ''],
        ],
      );
    } finally {
      m1!.restoreLeader();
    }
  });

  test('move-leader hands leadership to another member', async () => {
    const target = cluster.members[2]!;
    const r = await etcdctl(cluster.urls[0]!, ['move-leader', hex(target.memberId)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Leadership transferred from ${hex(cluster.members[0]!.memberId)} to ${hex(target.memberId)}`));
    assert.equal(cluster.leader, target);
  });
});

test('etcdkit serve --members 3 prints each URL, then a ready line; etcdctl sees the cluster; SIGTERM exits 0', { skip }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/etcdkit.ts', 'serve', '--members', '3', '--listen-client-urls', 'http://127.0.0.1:0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const lines: string[] = [];
    await within(
      new Promise<void>((resolve, reject) => {
        const rl = createInterface({ input: child.stdout! });
        rl.on('line', (line) => {
          lines.push(line);
          if (line.startsWith('etcdkit cluster ready')) resolve();
        });
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      }),
      30_000,
      'the ready line',
    );
    assert.equal(lines.length, 4);
    const urls = lines.slice(0, 3);
    for (const u of urls) assert.match(u, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(new Set(urls).size, 3);
    assert.equal(lines[3], `etcdkit cluster ready at ${urls.join(',')}`);
    const r = await etcdctl(urls[2]!, ['member', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(', ')[4]),
      urls,
    );
    child.kill('SIGTERM');
    assert.equal(await within(exited, 15_000, 'the exit'), 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
