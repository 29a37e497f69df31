/**
 * How the lease code opens a LeaseKeepAlive stream: a function over the client's bidi-stream
 * seam (src/balancer/stream.ts), so the keepalive logic can be tested against a fake.
 */
import type { BidiStream, OpenStreamOptions } from '../balancer/invoke.js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../protocol/messages.generated.js';

/** An open LeaseKeepAlive stream. */
export type KeepAliveStream = BidiStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;

/**
 * Opens a LeaseKeepAlive stream on a ready endpoint (preferring one other than `avoid`).
 * Rejects with an EtcdError when no endpoint becomes ready, the signal aborts, or the client
 * is closed.
 */
export type OpenKeepAliveStream = (options: OpenStreamOptions) => Promise<KeepAliveStream>;
