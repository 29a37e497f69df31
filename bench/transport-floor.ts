/**
 * The transport floor of the live watch scenario (not part of `npm run bench`): alternating
 * runs of bare-transport watchers (bench/transport-floor-worker.ts: `http2`, `grpc-js`) and
 * the two clients (bench/watch-worker.ts), each receiving the same 20,000 live events from a
 * separate writer, on one server. Prints CPU per event and each one's ratio to etcd3's in the
 * same round.
 *
 *   npx tsx bench/transport-floor.ts [etcd|bundled] [rounds=3] [watchers=http2,grpc-js,etcdkit,etcd3]
 */
import { startBundledServer, startRealEtcd } from './servers.js';
import { measureLiveEvents, WATCH_PLAN } from './watch.js';

const repoRoot = process.cwd();
const serverKind = process.argv[2] ?? 'etcd';
const rounds = Number(process.argv[3] ?? 3);
const watchers = (process.argv[4] ?? 'http2,grpc-js,etcdkit,etcd3').split(',');
if (!watchers.includes('etcd3')) throw new Error('etcd3 must be among the watchers (ratios are to it)');
const server = serverKind === 'etcd' ? await startRealEtcd() : await startBundledServer(repoRoot);
const events = String(WATCH_PLAN.events);
const warmup = String(WATCH_PLAN.warmup);
const cpu: Record<string, number[]> = {};
try {
  for (let round = 0; round < rounds; round++) {
    for (const watcher of watchers) {
      const args = ['--endpoint', server.endpoint, '--events', events, '--warmup', warmup];
      const [script, watcherArgs] =
        watcher === 'http2' || watcher === 'grpc-js'
          ? ['bench/transport-floor-worker.ts', ['--transport', watcher, ...args]]
          : ['bench/watch-worker.ts', ['--mode', 'events', '--client', watcher, ...args, '--cap', String(WATCH_PLAN.eventsCapSeconds)]];
      const result = await measureLiveEvents<{ cpuUsPerEvent: number }>(repoRoot, server, WATCH_PLAN, script, watcherArgs);
      (cpu[watcher] ??= []).push(result.cpuUsPerEvent);
    }
  }
} finally {
  await server.stop();
}
console.log(`${server.label}: CPU per live event (µs), ${rounds} rounds; ratio to etcd3 in the same round`);
for (const watcher of watchers) {
  const own = cpu[watcher]!;
  const ratios = own.map((us, i) => (us / cpu.etcd3![i]!).toFixed(2));
  console.log(`  ${watcher.padEnd(8)} ${own.map((us) => us.toFixed(1).padStart(5)).join(' ')}   ratios ${ratios.join(' ')}`);
}
