/**
 * `etcdctl lease ...` (3.4) against the bundled server and real etcd 3.4.23: the same script
 * runs on a fresh instance of each, and the transcripts (exit code, stdout, error lines) must
 * be equal once the lease IDs (hex in simple output, decimal in JSON) and the remaining TTL
 * seconds are normalised. The normalised etcd transcript is also checked against the
 * expected one, so two equally wrong servers cannot pass.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdAvailable, startRealEtcd } from '../harness/real-etcd.js';
import { startBundled } from '../harness/bundled.js';
import { etcdctl, type EtcdctlResult } from '../harness/etcdctl.js';
import type { ServerHandle } from '../harness/handle.js';
import { LongEtcdctl } from './long-etcdctl.js';

/** One normalised step of a transcript. */
interface Entry {
  cmd: string;
  code: number | null;
  out: string;
}

/**
 * Replaces lease IDs by `<L1>`, `<L2>`, ... in order of first appearance (the same map for
 * hex and decimal forms), remaining TTLs by `<N>` after checking them against the granted
 * TTL, and sorts the attached keys.
 */
class Normaliser {
  readonly #names = new Map<bigint, string>();

  /** Registers a lease ID printed in hex by `lease grant`, giving it the next name. */
  learn(hexId: string): bigint {
    const id = BigInt(`0x${hexId}`);
    if (!this.#names.has(id)) this.#names.set(id, `<L${this.#names.size + 1}>`);
    return id;
  }

  text(s: string): string {
    let out = s;
    for (const [id, name] of this.#names) {
      out = out.replaceAll(id.toString(16).padStart(16, '0'), name).replaceAll(`:${id.toString(10)}`, `:${name}`);
    }
    // remaining(Ns) of a TTL(Gs) lease: 0 < N <= G (whole seconds, truncated).
    out = out.replace(/granted with TTL\((\d+)s\), remaining\((-?\d+)s\)/g, (_m, granted: string, remaining: string) => {
      const g = Number(granted);
      const r = Number(remaining);
      assert.ok(r >= 0 && r <= g, `remaining ${r}s of a ${g}s lease in ${JSON.stringify(s)}`);
      return `granted with TTL(${granted}s), remaining(<N>s)`;
    });
    // The attached keys come in no particular order (etcd walks a Go map): sort them.
    out = out
      .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`)
      .replace(/"keys":\[([^\]]*)\]/g, (_m, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`);
    return out
      .replace(/"ttl":(-?\d+),"granted-ttl":(\d+)/g, (_m, ttl: string, granted: string) => {
        assert.ok(Number(ttl) >= 0 && Number(ttl) <= Number(granted), `ttl ${ttl} of ${granted} in ${JSON.stringify(s)}`);
        return `"ttl":<N>,"granted-ttl":${granted}`;
      })
      .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0');
  }
}

const errorLines = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('Error:'))
    .join('\n');

/** Runs the lease script on one server and returns its normalised transcript. */
async function leaseScript(server: ServerHandle): Promise<Entry[]> {
  const norm = new Normaliser();
  const entries: Entry[] = [];
  const record = (cmd: string, res: Pick<EtcdctlResult, 'code' | 'stdout' | 'stderr'>): void => {
    entries.push({ cmd, code: res.code, out: norm.text(res.stdout + errorLines(res.stderr)) });
  };
  const run = async (args: string[], check?: (res: EtcdctlResult) => void): Promise<EtcdctlResult> => {
    const res = await etcdctl(server.endpoint, args, { timeoutMs: 10_000 });
    check?.(res);
    // Name the IDs before normalising the output that shows them.
    for (const m of res.stdout.matchAll(/^lease ([0-9a-f]{16}) granted with TTL\(\d+s\)$/gm)) norm.learn(m[1]!);
    record(args.map((a) => (/^[0-9a-f]{16}$/.test(a) ? norm.text(a) : a)).join(' '), res);
    return res;
  };
  const grant = async (ttl: string): Promise<string> => {
    const res = await run(['lease', 'grant', ttl]);
    const id = /^lease ([0-9a-f]{16}) granted/.exec(res.stdout)?.[1];
    assert.ok(id, `lease grant ${ttl}: ${res.stdout}${res.stderr}`);
    return id;
  };

  const id = await grant('10');
  await run(['put', '--lease', id, 'lk', 'lv']);
  await run(['put', '--lease', id, 'lk2', 'lv2']);
  await run(['get', 'lk', '-w', 'json']);
  await run(['lease', 'timetolive', id]);
  await run(['lease', 'timetolive', id, '--keys']);
  await run(['lease', 'timetolive', id, '--keys', '-w', 'json']);
  const other = await grant('20');
  const list = await run(['lease', 'list']);
  // Order unspecified: the two IDs in any order.
  const listed = list.stdout.split('\n').slice(1).filter(Boolean).sort();
  assert.deepEqual(listed, [id, other].sort(), `lease list: ${list.stdout}`);
  entries.pop();
  record('lease list (sorted)', { code: list.code, stdout: ['found 2 leases', ...[id, other].map((x) => norm.text(x)).sort()].join('\n'), stderr: '' });
  await run(['lease', 'keep-alive', '--once', id]);
  await run(['lease', 'timetolive', id]);

  // Long-running keep-alive: read two renewals (etcdctl renews every TTL/3), then kill it.
  const keeper = new LongEtcdctl(server.endpoint, ['lease', 'keep-alive', id]);
  try {
    await keeper.waitForLines(2, 15_000);
  } finally {
    await keeper.stop();
  }
  record('lease keep-alive <L1> (first two lines)', { code: 0, stdout: keeper.lines.slice(0, 2).join('\n'), stderr: '' });

  // Keep-alive of a lease revoked behind its back: etcdctl reports it and exits on its own.
  const short = await grant('3');
  const orphan = new LongEtcdctl(server.endpoint, ['lease', 'keep-alive', short]);
  try {
    await orphan.waitForLines(1, 10_000);
    await run(['lease', 'revoke', short]);
    await orphan.waitUntil('the exit', () => orphan.exited, 10_000);
  } finally {
    await orphan.stop();
  }
  // Renewals can still land between the first line and the revoke (etcdctl renews every
  // second here): any number of equal "keepalived" lines, then the final report.
  const renewed = orphan.lines.slice(0, -1);
  assert.ok(renewed.length >= 1 && renewed.every((l) => l === renewed[0]), `keep-alive of a revoked lease: ${orphan.describe()}`);
  record('lease keep-alive <L3> (revoked meanwhile)', { code: orphan.exitCode, stdout: [renewed[0], orphan.lines.at(-1)].join('\n'), stderr: orphan.stderr });

  await run(['lease', 'revoke', id]);
  await run(['get', 'lk', '--prefix']);
  await run(['lease', 'timetolive', id, '--keys']);
  await run(['lease', 'keep-alive', '--once', id]);
  await run(['lease', 'revoke', id]);
  await run(['put', '--lease', id, 'lk', 'again']);
  await run(['lease', 'list']);
  await run(['lease', 'revoke', other]);
  // TTL below the minimum is raised to 2 s.
  const tiny = await grant('1');
  await run(['lease', 'revoke', tiny]);
  await run(['lease', 'list']);
  return entries;
}

/** etcd 3.4.23's transcript, normalised. */
const expected: Entry[] = [
  { cmd: 'lease grant 10', code: 0, out: 'lease <L1> granted with TTL(10s)\n' },
  { cmd: 'put --lease <L1> lk lv', code: 0, out: 'OK\n' },
  { cmd: 'put --lease <L1> lk2 lv2', code: 0, out: 'OK\n' },
  {
    cmd: 'get lk -w json',
    code: 0,
    out:
      '{"header":{"cluster_id":0,"member_id":0,"revision":3,"raft_term":0},"kvs":[{"key":"bGs=","create_revision":2,' +
      '"mod_revision":2,"version":1,"value":"bHY=","lease":<L1>}],"count":1}\n',
  },
  { cmd: 'lease timetolive <L1>', code: 0, out: 'lease <L1> granted with TTL(10s), remaining(<N>s)\n' },
  { cmd: 'lease timetolive <L1> --keys', code: 0, out: 'lease <L1> granted with TTL(10s), remaining(<N>s), attached keys([lk lk2])\n' },
  {
    cmd: 'lease timetolive <L1> --keys -w json',
    code: 0,
    out: '{"cluster_id":0,"member_id":0,"revision":3,"raft_term":0,"id":<L1>,"ttl":<N>,"granted-ttl":10,"keys":["bGs=","bGsy"]}\n',
  },
  { cmd: 'lease grant 20', code: 0, out: 'lease <L2> granted with TTL(20s)\n' },
  { cmd: 'lease list (sorted)', code: 0, out: 'found 2 leases\n<L1>\n<L2>' },
  { cmd: 'lease keep-alive --once <L1>', code: 0, out: 'lease <L1> keepalived with TTL(10)\n' },
  { cmd: 'lease timetolive <L1>', code: 0, out: 'lease <L1> granted with TTL(10s), remaining(<N>s)\n' },
  { cmd: 'lease keep-alive <L1> (first two lines)', code: 0, out: 'lease <L1> keepalived with TTL(10)\nlease <L1> keepalived with TTL(10)' },
  { cmd: 'lease grant 3', code: 0, out: 'lease <L3> granted with TTL(3s)\n' },
  { cmd: 'lease revoke <L3>', code: 0, out: 'lease <L3> revoked\n' },
  {
    cmd: 'lease keep-alive <L3> (revoked meanwhile)',
    code: 0,
    out: 'lease <L3> keepalived with TTL(3)\nlease <L3> expired or revoked.',
  },
  { cmd: 'lease revoke <L1>', code: 0, out: 'lease <L1> revoked\n' },
  { cmd: 'get lk --prefix', code: 0, out: '' },
  { cmd: 'lease timetolive <L1> --keys', code: 0, out: 'lease <L1> already expired\n' },
  { cmd: 'lease keep-alive --once <L1>', code: 2, out: 'Error: etcdserver: requested lease not found' },
  { cmd: 'lease revoke <L1>', code: 1, out: 'Error: failed to revoke lease (etcdserver: requested lease not found)' },
  { cmd: 'put --lease <L1> lk again', code: 1, out: 'Error: etcdserver: requested lease not found' },
  { cmd: 'lease list', code: 0, out: 'found 1 leases\n<L2>\n' },
  { cmd: 'lease revoke <L2>', code: 0, out: 'lease <L2> revoked\n' },
  { cmd: 'lease grant 1', code: 0, out: 'lease <L4> granted with TTL(2s)\n' },
  { cmd: 'lease revoke <L4>', code: 0, out: 'lease <L4> revoked\n' },
  { cmd: 'lease list', code: 0, out: 'found 0 leases\n' },
];

describe('etcdctl lease: bundled server vs etcd 3.4.23', { skip: etcdAvailable() }, () => {
  let servers: { bundled: ServerHandle; etcd: ServerHandle } | undefined;

  before(
    async () => {
      const [bundled, etcd] = await Promise.all([startBundled(), startRealEtcd()]);
      servers = { bundled, etcd };
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      if (servers) await Promise.all([servers.bundled.stop(), servers.etcd.stop()]);
      servers = undefined;
    },
    { timeout: 30_000 },
  );

  it('grant, put --lease, timetolive --keys, list, keep-alive (once and long-running), revoke', { timeout: 40_000 }, async () => {
    assert.ok(servers);
    const [bundled, etcd] = await Promise.all([leaseScript(servers.bundled), leaseScript(servers.etcd)]);
    assert.deepEqual(etcd, expected, 'etcd 3.4.23 printed something else than expected');
    for (let i = 0; i < etcd.length; i++) {
      assert.deepEqual(bundled[i], etcd[i], `step #${i} (${etcd[i]!.cmd}): bundled differs from etcd`);
    }
    assert.equal(bundled.length, etcd.length);
  });
});
