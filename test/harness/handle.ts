/** The shape every test server handle has, whatever runs behind it. */
export interface ServerHandle {
  /** `'bundled'` (etcdkit/server) or `'etcd'` (the real binary). */
  readonly kind: 'bundled' | 'etcd';
  /** A human-readable label for test names, e.g. `bundled` or `etcd 3.4.23`. */
  readonly label: string;
  /** `127.0.0.1:PORT` (what clients and etcdctl take). */
  readonly endpoint: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops the server for good and releases everything it holds (idempotent). */
  stop(): Promise<void>;
  /** Stops and starts again on the same port, keeping the stored data. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP); only for servers running in their own process. */
  pause(): void;
  /** Unfreezes a paused server (SIGCONT). */
  resume(): void;
}
