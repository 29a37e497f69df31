import { Writable } from 'node:stream';

type WritevChunks = Parameters<NonNullable<Writable['_writev']>>[0];

/**
 * Writes the responses of a grpc-js server stream the way etcd's gRPC-go writer does: all the
 * responses produced in one event-loop turn leave together, in one HTTP/2 write.
 *
 * grpc-js's server streams (a Node `Writable`) send one message per `_write` and take the next
 * only once HTTP/2 has written the previous one, a loop turn later. A burst of responses (the
 * watch events of all the writes one turn applied) then trickles out one or two messages per
 * socket write, and the client wakes up for each. So the returned writer:
 * - corks the stream at the first response of a turn and uncorks it on the next turn;
 * - gives the stream a `_writev`, so its whole buffer goes to HTTP/2 at once: each message
 *   still passes through grpc-js's own `_write` (serialising, size checks, headers), in order,
 *   without waiting for the previous one, and the batch completes when its last message is
 *   written (HTTP/2 completes writes in order);
 * - returns whether the stream can take more: true while fewer than `limit` responses wait in
 *   its buffer. After a false, wait for the stream's 'drain' (`limit` must be at least the
 *   stream's high-water mark, 16 in grpc-js, so that a 'drain' follows).
 *
 * A stream without its own `_write` (another grpc-js design) keeps its own writes, corked per
 * turn all the same.
 */
export function batchedWriter<T>(call: Writable, limit: number): (response: T) => boolean {
  if (limit < call.writableHighWaterMark) throw new RangeError(`batchedWriter: limit ${limit} is below the stream's high-water mark`);
  const send = call._write;
  if (typeof send === 'function' && send !== Writable.prototype._write) {
    call._writev = (chunks: WritevChunks, done: (error?: Error | null) => void): void => {
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) send.call(call, chunks[i]!.chunk, chunks[i]!.encoding, ignore);
      send.call(call, chunks[last]!.chunk, chunks[last]!.encoding, done);
    };
  }
  let corked = false;
  const uncork = (): void => {
    corked = false;
    call.uncork();
  };
  return (response: T): boolean => {
    if (!corked) {
      corked = true;
      call.cork();
      setImmediate(uncork);
    }
    call.write(response);
    return call.writableLength < limit;
  };
}

function ignore(): void {}
