/**
 * `etcdkit/server`: an in-process etcd v3 server that etcd clients (etcdctl, the etcd3 npm
 * package, Go clientv3, etcdkit) cannot tell from etcd. Meant for tests and development.
 */
import { parseServerOptions, type ServerOptions } from './options.js';
import { EtcdServer } from './server.js';

export { EtcdServer } from './server.js';
export type { ServerOptions } from './options.js';
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
