import type { ServerDuplexStream } from '@grpc/grpc-js';
import { etcdError } from '../errors.js';
import { batchedWriter } from '../grpc/batched-writes.js';
import { toServiceError } from '../grpc/status.js';
import type { Init, LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../../protocol/messages.generated.js';

/** Answers one keepalive request (may throw an etcd error, which ends the stream). */
export type KeepAliveResponder = (request: LeaseKeepAliveRequest) => Init<LeaseKeepAliveResponse>;

export type KeepAliveCall = ServerDuplexStream<LeaseKeepAliveRequest, Init<LeaseKeepAliveResponse>>;

/**
 * - open: reading requests, one response each;
 * - ended: the client half-closed and we ended the call with OK, or a request failed and we
 *   ended it with that error;
 * - cancelled: the client went away or the server cancelled the call.
 */
type StreamState = 'open' | 'ended' | 'cancelled';

/**
 * One LeaseKeepAlive bidi call: each request gets one response, in order, honouring
 * backpressure (reading pauses while the response buffer is full).
 */
export class KeepAliveStream {
  private state: StreamState = 'open';
  /** Sends a response; false when the client is not keeping up (gRPC's own buffer bound). */
  private readonly write: (response: Init<LeaseKeepAliveResponse>) => boolean;

  constructor(
    private readonly call: KeepAliveCall,
    private readonly respond: KeepAliveResponder,
    private readonly onDone: (stream: KeepAliveStream) => void,
  ) {
    this.write = batchedWriter(call, call.writableHighWaterMark);
    call.on('data', (request: LeaseKeepAliveRequest) => this.onRequest(request));
    call.on('end', () => this.finish());
    call.on('drain', () => {
      if (this.state === 'open') call.resume();
    });
    call.on('cancelled', () => this.cancelled());
    // grpc-js reports stream failures here; without a listener they would be thrown
    call.on('error', () => this.cancelled());
    call.on('close', () => this.cancelled());
  }

  /** Whether the call is still being served. */
  get open(): boolean {
    return this.state === 'open';
  }

  /** Ends the call because the server stops: the client sees "etcdserver: server stopped". */
  cancel(): void {
    if (this.state !== 'open') return;
    this.state = 'cancelled';
    this.call.emit('error', toServiceError(etcdError('stopped')));
    this.onDone(this);
  }

  private onRequest(request: LeaseKeepAliveRequest): void {
    if (this.state !== 'open') return;
    let response: Init<LeaseKeepAliveResponse>;
    try {
      response = this.respond(request);
    } catch (err) {
      this.state = 'ended';
      this.call.emit('error', toServiceError(err));
      this.onDone(this);
      return;
    }
    if (!this.write(response)) this.call.pause();
  }

  /** The client half-closed: end with OK after the responses already written. */
  private finish(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.call.end();
    this.onDone(this);
  }

  private cancelled(): void {
    if (this.state !== 'open') return;
    this.state = 'cancelled';
    this.onDone(this);
  }
}
