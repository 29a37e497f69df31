import { connect, type Socket } from 'node:net';
import { AuthorityFix } from './authority-fix.js';

/** Above this many delayed bytes the upstream is paused until the client catches up. */
const HIGH_WATER_BYTES = 1024 * 1024;

interface Delayed {
  readonly chunk: Buffer;
  due: number;
}

/** Where a link forwards to, and how it is told about its end. */
export interface LinkOptions {
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** Starts held (the member hangs). */
  readonly hung: boolean;
  /** Delay of bytes towards the client, ms. */
  readonly latencyMs: number;
  readonly onClosed: (link: ProxyLink) => void;
}

/**
 * One client connection forwarded to a member's gRPC listener, byte for byte (except for
 * `:authority` values with a URL scheme, see authority-fix.ts):
 * - flowing: client bytes go straight up; member bytes go back after the latency;
 * - hung: nothing is read or written either way (sockets stay open, the kernel buffers
 *   fill, HTTP/2 pings go unanswered), until unhung, when everything held flows on in order;
 * - closed: both sockets destroyed; closing either side closes the other.
 */
export class ProxyLink {
  private readonly upstream: Socket;
  private hung: boolean;
  private latencyMs: number;
  private readonly queue: Delayed[] = [];
  private queuedBytes = 0;
  private lastDue = 0;
  private clientBlocked = false;
  private upstreamGone = false;
  private ending = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly client: Socket,
    private readonly options: LinkOptions,
  ) {
    this.hung = options.hung;
    this.latencyMs = options.latencyMs;
    client.setNoDelay(true);
    client.pause();
    this.upstream = connect({ host: options.upstreamHost, port: options.upstreamPort, noDelay: true });
    this.upstream.pause();
    const up = this.upstream;
    const fix = new AuthorityFix();
    client.on('data', (chunk: Buffer) => {
      let accepted = true;
      for (const piece of fix.push(chunk)) accepted = up.write(piece) && accepted;
      if (!accepted) client.pause();
    });
    up.on('drain', () => this.resumeClient());
    up.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    client.on('drain', () => {
      this.clientBlocked = false;
      this.pump();
    });
    client.on('error', () => this.close());
    client.on('close', () => this.close());
    up.on('error', () => this.close());
    // the member closed: the client gets what is still delayed, then the close
    up.on('close', () => {
      this.upstreamGone = true;
      if (this.queue.length === 0 || this.hung) this.close();
    });
    if (!this.hung) {
      client.resume();
      up.resume();
    }
  }

  /** Stops forwarding both ways, keeping both sockets open. */
  hang(): void {
    if (this.closed || this.hung) return;
    this.hung = true;
    this.client.pause();
    this.upstream.pause();
    this.clearTimer();
  }

  /** Forwards again: whatever was held flows on, in order. */
  unhang(): void {
    if (this.closed || !this.hung) return;
    this.hung = false;
    this.resumeClient();
    this.resumeUpstream();
    this.pump();
  }

  /** Sets the delay of member-to-client bytes; bytes already held are due no later than now + ms. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
    const cap = performance.now() + ms;
    for (const d of this.queue) d.due = Math.min(d.due, cap);
    this.lastDue = Math.min(this.lastDue, cap);
    this.clearTimer();
    this.pump();
  }

  /** Destroys both sockets and drops what is held. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.client.destroy();
    this.upstream.destroy();
    this.options.onClosed(this);
  }

  private fromUpstream(chunk: Buffer): void {
    const due = Math.max(performance.now() + this.latencyMs, this.lastDue);
    this.lastDue = due;
    this.queue.push({ chunk, due });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES) this.upstream.pause();
    this.pump();
  }

  /** Writes every due chunk to the client while it accepts; arms a timer for the next one. */
  private pump(): void {
    if (this.closed || this.hung || this.timer !== undefined) return;
    const now = performance.now();
    while (this.queue.length > 0 && !this.clientBlocked) {
      const head = this.queue[0]!;
      if (head.due > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(head.due - now));
        return;
      }
      this.queue.shift();
      this.queuedBytes -= head.chunk.length;
      if (!this.client.write(head.chunk)) this.clientBlocked = true;
    }
    if (this.upstreamGone && this.queue.length === 0) {
      if (!this.ending) {
        this.ending = true;
        this.client.end(() => this.close());
      }
      return;
    }
    if (this.queuedBytes <= HIGH_WATER_BYTES / 2 && !this.clientBlocked) this.resumeUpstream();
  }

  private resumeClient(): void {
    if (!this.closed && !this.hung) this.client.resume();
  }

  private resumeUpstream(): void {
    if (!this.closed && !this.hung && this.queuedBytes <= HIGH_WATER_BYTES / 2) this.upstream.resume();
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
