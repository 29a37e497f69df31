/**
 * `etcdkit/server`: an in-process etcd v3 server that etcd clients (etcdctl, the etcd3 npm
 * package, Go clientv3, etcdkit) cannot tell from etcd, as a single server or as a simulated
 * multi-member cluster with fault injection. Meant for tests and development.
 */
import { EtcdCluster } from './cluster/cluster.js';
import { parseClusterOptions, type ClusterOptions } from './cluster/options.js';
import { ClusterRuntime } from './cluster/runtime.js';
import { newClusterIdentities } from './member.js';
import { parseServerOptions, type ServerOptions } from './options.js';
import { EtcdServer } from './server.js';

export { EtcdServer } from './server.js';
export { EtcdCluster } from './cluster/cluster.js';
export { ClusterMember } from './cluster/cluster-member.js';
export type { ServerOptions } from './options.js';
export type { ClusterOptions } from './cluster/options.js';
export { ManualClock, systemClock, type Clock, type ClockTimer } from './clock.js';

/**
 * Starts a server; resolves once it listens.
 * @throws TypeError for a bad option (naming it); Error when the address cannot be bound.
 */
export async function startServer(options: ServerOptions = {}): Promise<EtcdServer> {
  const server = new EtcdServer(parseServerOptions(options));
  await server.start();
  return server;
}

/**
 * Starts a simulated cluster (3 members by default); resolves once every member listens and
 * the cluster has elected its leader (member 0 unless `leader` says otherwise).
 * @throws TypeError for a bad option (naming it); Error when a port cannot be bound (every
 *   member started so far is closed again).
 */
export async function startCluster(options: ClusterOptions = {}): Promise<EtcdCluster> {
  const o = parseClusterOptions(options);
  const runtime = new ClusterRuntime({ ...o, identities: newClusterIdentities(o.names), proxied: true });
  try {
    await runtime.startAll();
  } catch (err) {
    await runtime.close();
    throw err;
  }
  return new EtcdCluster(runtime);
}
