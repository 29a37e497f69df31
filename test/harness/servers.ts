/**
 * `forEachServer` defines one node:test suite twice: against the bundled server and against
 * the real etcd 3.4.23 binary. The real half is skipped, with the reason, when etcd is not
 * installed. Each half starts its server and a Client before its tests and stops both after.
 */
import { after, before, describe } from 'node:test';
import { Client } from '../../src/index.js';
import type { ServerHandle } from './handle.js';
import { startBundled, BUNDLED_LABEL } from './bundled.js';
import { etcdAvailable, startRealEtcd, REAL_ETCD_LABEL } from './real-etcd.js';

export type ServerKind = 'bundled' | 'etcd';

const HOOK_TIMEOUT_MS = 30_000;

/** Starts a fresh server of the given kind. */
export function startServerOfKind(kind: ServerKind): Promise<ServerHandle> {
  return kind === 'bundled' ? startBundled() : startRealEtcd();
}

/** A client for a handle with the harness's standard bounds. */
export function clientFor(server: ServerHandle): Client {
  return new Client({ endpoints: [server.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
}

export interface ServerContext {
  readonly kind: ServerKind;
  /** `bundled` or `etcd 3.4.23`. */
  readonly label: string;
  /** The suite's server (throws before the suite's `before` hook ran). */
  readonly server: ServerHandle;
  /** A client connected to the suite's server. */
  readonly client: Client;
  /** A fresh unique key prefix (`t<n>/`), so tests never share keys. */
  prefix(): string;
  /**
   * Starts an extra fresh server of the suite's kind plus a client for it, both stopped in the
   * suite's `after` hook. For tests that assert absolute revisions.
   */
  fresh(): Promise<{ server: ServerHandle; client: Client }>;
}

export interface ForEachServerOptions {
  /** Skip the bundled half (with this reason). */
  skipBundled?: string;
  /** Skip the real-etcd half (with this reason), in addition to etcd being missing. */
  skipEtcd?: string;
}

/** Defines `name` twice, once per server kind, each with its own server and client. */
export function forEachServer(
  name: string,
  body: (ctx: ServerContext) => void,
  opts: ForEachServerOptions = {},
): void {
  describe(name, () => {
    defineHalf('bundled', BUNDLED_LABEL, opts.skipBundled, body);
    defineHalf('etcd', REAL_ETCD_LABEL, etcdAvailable() ?? opts.skipEtcd, body);
  });
}

function defineHalf(
  kind: ServerKind,
  label: string,
  skip: string | undefined,
  body: (ctx: ServerContext) => void,
): void {
  let server: ServerHandle | undefined;
  let client: Client | undefined;
  const extras: Array<{ server: ServerHandle; client: Client }> = [];
  let counter = 0;
  const ctx: ServerContext = {
    kind,
    label,
    get server() {
      if (server === undefined) throw new Error(`${label}: server not started (used outside a test?)`);
      return server;
    },
    get client() {
      if (client === undefined) throw new Error(`${label}: client not created (used outside a test?)`);
      return client;
    },
    prefix() {
      counter += 1;
      return `t${counter}/`;
    },
    async fresh() {
      const extraServer = await startServerOfKind(kind);
      const extra = { server: extraServer, client: clientFor(extraServer) };
      extras.push(extra);
      return extra;
    },
  };
  describe(label, skip === undefined ? {} : { skip }, () => {
    before(
      async () => {
        server = await startServerOfKind(kind);
        client = clientFor(server);
      },
      { timeout: HOOK_TIMEOUT_MS },
    );
    after(
      async () => {
        const all = [...extras.splice(0), ...(server && client ? [{ server, client }] : [])];
        const problems: unknown[] = [];
        for (const item of all) {
          try {
            await item.client.close();
          } catch (err) {
            problems.push(err);
          }
          try {
            await item.server.stop();
          } catch (err) {
            problems.push(err);
          }
        }
        if (server && !client) await server.stop();
        server = undefined;
        client = undefined;
        if (problems.length > 0) throw new AggregateError(problems, `${label}: cleanup failed`);
      },
      { timeout: HOOK_TIMEOUT_MS },
    );
    body(ctx);
  });
}
