import { createServer, type Server, type Socket } from 'node:net';
import { ProxyLink } from './proxy-link.js';

/**
 * The TCP front of one cluster member: it owns the member's public port and forwards each
 * connection to the member's real gRPC listener (an internal loopback port), so faults can
 * be applied below gRPC, as the network or the OS would:
 * - {@link hang}: connections are accepted but nothing moves either way (a SIGSTOPped
 *   process); {@link unhang} lets everything held flow on;
 * - {@link setLatency}: bytes towards clients are delayed.
 * States: closed (not listening) -> listening -> closed ...; links live until dropped.
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly links = new Set<ProxyLink>();
  private target: { host: string; port: number } | undefined;
  private hung = false;
  private latencyMs = 0;

  /** Whether it stops forwarding. */
  get isHung(): boolean {
    return this.hung;
  }

  /** The current response delay in ms. */
  get latency(): number {
    return this.latencyMs;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.links.size;
  }

  /**
   * Listens on `host:port` (0 = a free port) and forwards to `target`; resolves to the bound
   * port. Rejects (listening on nothing) when the port cannot be bound.
   */
  listen(host: string, port: number, target: { host: string; port: number }): Promise<number> {
    if (this.server !== undefined) throw new Error('FaultProxy: already listening');
    this.target = target;
    const server = createServer({ pauseOnConnect: true }, (socket) => this.accept(socket));
    return new Promise<number>((resolve, reject) => {
      server.once('error', (err) => {
        server.close();
        reject(err);
      });
      server.listen({ host, port, exclusive: true }, () => {
        server.removeAllListeners('error');
        // a failing accept must not crash the process
        server.on('error', () => undefined);
        this.server = server;
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  /** Stops accepting connections (open ones stay). */
  stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** Destroys every open connection (what a dying process does to its sockets). */
  dropConnections(): void {
    for (const link of [...this.links]) link.close();
  }

  hang(): void {
    if (this.hung) return;
    this.hung = true;
    for (const link of this.links) link.hang();
  }

  unhang(): void {
    if (!this.hung) return;
    this.hung = false;
    for (const link of this.links) link.unhang();
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
    for (const link of this.links) link.setLatency(ms);
  }

  private accept(socket: Socket): void {
    const target = this.target;
    if (this.server === undefined || target === undefined) {
      socket.destroy();
      return;
    }
    const link = new ProxyLink(socket, {
      upstreamHost: target.host,
      upstreamPort: target.port,
      hung: this.hung,
      latencyMs: this.latencyMs,
      onClosed: (l) => this.links.delete(l),
    });
    this.links.add(link);
  }
}
