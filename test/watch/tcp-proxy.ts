/**
 * A fault-injection TCP proxy for tests: forwards 127.0.0.1:<port> to a target endpoint, and
 * can cut every open connection, refuse new ones, or silently drop everything (a black hole),
 * to cut off one client while others keep talking to the server.
 */
import net from 'node:net';

export class TcpProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #blocked = false;
  #blackholed = false;
  /** Connections accepted (including refused ones). */
  accepted = 0;

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
  }

  /** Starts a proxy to `endpoint` (`host:port`) on a free loopback port. */
  static async start(endpoint: string): Promise<TcpProxy> {
    const colon = endpoint.lastIndexOf(':');
    const target = { host: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)) };
    const server = net.createServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (socket) => proxy.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** `127.0.0.1:<port>` of the proxy. */
  get endpoint(): string {
    const address = this.#server.address() as net.AddressInfo;
    return `127.0.0.1:${address.port}`;
  }

  /** Sockets open (each connection counts its two sides). */
  get open(): number {
    return this.#sockets.size;
  }

  /** Destroys every open connection (both sides). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  /** Refuses new connections (accepts, then closes them at once) until {@link unblock}. */
  block(): void {
    this.#blocked = true;
  }

  unblock(): void {
    this.#blocked = false;
  }

  /** Drops every byte either way on open and new connections (a peer that went silent), until {@link restore}. */
  blackhole(): void {
    this.#blackholed = true;
  }

  restore(): void {
    this.#blackholed = false;
  }

  /** Cuts everything and stops listening. */
  async close(): Promise<void> {
    this.#blocked = true;
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.accepted += 1;
    if (this.#blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (bytes: Buffer) => {
      if (!this.#blackholed) upstream.write(bytes);
    });
    upstream.on('data', (bytes: Buffer) => {
      if (!this.#blackholed) client.write(bytes);
    });
  }
}
