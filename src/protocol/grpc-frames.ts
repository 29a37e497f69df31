/**
 * gRPC's framing over HTTP/2, as the streaming transport (src/balancer/stream-session.ts)
 * needs it: length-prefixed messages in DATA frames, the call status in `grpc-status` /
 * `grpc-message` headers or trailers, and what to conclude when a stream ends without one
 * (an HTTP status, a RST_STREAM code, a dropped connection). Wire facts only; nothing here
 * knows about sessions or endpoints.
 */
import { GrpcCode } from './error-table.js';

/** A call's final status: the gRPC code and the server's message. */
export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
}

/** Bytes before each message: a compressed flag (0 or 1), then the length (uint32, big-endian). */
export const MESSAGE_PREFIX_BYTES = 5;

/** Frames one serialized message (uncompressed). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, MESSAGE_PREFIX_BYTES);
  return framed;
}

/**
 * Cuts a stream of DATA chunks into messages. A message may span chunks and a chunk may hold
 * several messages; a message that lies whole inside one chunk is handed over as a view of it
 * (no copy). Compressed messages are refused: the transport never offers compression, so a
 * server that sends one is broken.
 */
export class MessageReader {
  /** Bytes carried over from earlier chunks: part of a prefix (while `#wanted` is -1), else part of a body. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Length of the message being assembled, once its prefix is complete (-1 before). */
  #wanted = -1;

  /**
   * Feeds one chunk; calls `onMessage` for every message it completes, in order. Throws a
   * {@link FramingError} on a compressed message (the stream must then be failed).
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let offset = 0;
    if (this.partial) {
      offset = this.#completePending(chunk, onMessage);
      if (offset < 0) return;
    }
    const end = chunk.length;
    while (end - offset >= MESSAGE_PREFIX_BYTES) {
      if (chunk[offset] !== 0) throw compressedError(chunk[offset]!);
      const length = chunk.readUInt32BE(offset + 1);
      const start = offset + MESSAGE_PREFIX_BYTES;
      if (end - start < length) break;
      offset = start + length;
      onMessage(chunk.subarray(start, offset));
    }
    if (offset === end) return;
    const rest = chunk.subarray(offset);
    if (rest.length >= MESSAGE_PREFIX_BYTES) {
      // The prefix is whole (its flag checked above), the body is not: wait for the rest of it.
      this.#wanted = rest.readUInt32BE(1);
      this.#keep(rest.subarray(MESSAGE_PREFIX_BYTES));
    } else {
      this.#keep(rest);
    }
  }

  /** True when part of a message is still waiting for the rest. */
  get partial(): boolean {
    return this.#pendingBytes > 0 || this.#wanted >= 0;
  }

  /** Adds the start of `chunk` to the carried-over bytes; returns where the rest of `chunk` starts, or -1 when all of it was kept. */
  #completePending(chunk: Buffer, onMessage: (message: Buffer) => void): number {
    if (this.#wanted < 0) {
      const missing = MESSAGE_PREFIX_BYTES - this.#pendingBytes;
      if (chunk.length < missing) {
        this.#keep(chunk);
        return -1;
      }
      const prefix = Buffer.concat([...this.#pending, chunk.subarray(0, missing)], MESSAGE_PREFIX_BYTES);
      if (prefix[0] !== 0) throw compressedError(prefix[0]!);
      this.#wanted = prefix.readUInt32BE(1);
      this.#pending = [];
      this.#pendingBytes = 0;
      chunk = chunk.subarray(missing);
      const offset = this.#completeBody(chunk, onMessage);
      return offset < 0 ? -1 : offset + missing;
    }
    return this.#completeBody(chunk, onMessage);
  }

  /** Completes the message body being assembled from the start of `chunk`. */
  #completeBody(chunk: Buffer, onMessage: (message: Buffer) => void): number {
    const missing = this.#wanted - this.#pendingBytes;
    if (chunk.length < missing) {
      if (chunk.length > 0) this.#keep(chunk);
      return -1;
    }
    const body =
      this.#pendingBytes === 0
        ? chunk.subarray(0, missing)
        : Buffer.concat([...this.#pending, chunk.subarray(0, missing)], this.#wanted);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#wanted = -1;
    onMessage(body);
    return missing;
  }

  #keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }
}

/** A framing violation by the server (the stream fails with INTERNAL). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

function compressedError(flag: number): FramingError {
  return new FramingError(
    flag === 1
      ? 'received a compressed message, but no compression was negotiated'
      : `received a message with an invalid compressed flag ${flag}`,
  );
}

/** Header values as node:http2 hands them over. */
type Headers = Readonly<Record<string, string | string[] | number | undefined>>;

/** The status carried by `headers` (trailers, or the headers of a trailers-only answer), if any. */
export function statusFromHeaders(headers: Headers): GrpcStatus | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(Array.isArray(raw) ? raw[0] : raw);
  const message = headers['grpc-message'];
  const details = message === undefined ? '' : decodeGrpcMessage(String(Array.isArray(message) ? message[0] : message));
  if (!Number.isInteger(code) || code < 0 || code > 16) {
    return { code: GrpcCode.UNKNOWN, details: `invalid grpc-status ${String(raw)}${details ? `: ${details}` : ''}` };
  }
  return { code, details };
}

/**
 * Why response headers cannot start a gRPC answer, or undefined when they can: HTTP 200 with a
 * gRPC content type. A refusal becomes the call's status, by gRPC's HTTP-to-status mapping.
 */
export function refusedResponse(headers: Headers): GrpcStatus | undefined {
  const httpStatus = Number(headers[':status']);
  if (httpStatus !== 200) {
    return { code: codeForHttpStatus(httpStatus), details: `Received HTTP status code ${httpStatus}` };
  }
  const type = headers['content-type'];
  if (typeof type !== 'string' || !type.startsWith('application/grpc')) {
    return { code: GrpcCode.UNKNOWN, details: `Received unexpected content-type ${String(type)}` };
  }
  return undefined;
}

/** gRPC's mapping of an HTTP status that came without a grpc-status. */
export function codeForHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcCode.INTERNAL;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcCode.UNAVAILABLE;
    default:
      return GrpcCode.UNKNOWN;
  }
}

/** HTTP/2 error codes (RFC 9113 section 7) that say something about the call. */
const H2_REFUSED_STREAM = 0x7;
const H2_CANCEL = 0x8;
const H2_ENHANCE_YOUR_CALM = 0xb;
const H2_INADEQUATE_SECURITY = 0xc;

/** The status of a stream the peer reset (RST_STREAM) before any grpc-status. */
export function statusForReset(errorCode: number): GrpcStatus {
  switch (errorCode) {
    case H2_REFUSED_STREAM:
      return { code: GrpcCode.UNAVAILABLE, details: 'Stream refused by server' };
    case H2_CANCEL:
      return { code: GrpcCode.CANCELLED, details: 'Call cancelled' };
    case H2_ENHANCE_YOUR_CALM:
      return { code: GrpcCode.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded' };
    case H2_INADEQUATE_SECURITY:
      return { code: GrpcCode.PERMISSION_DENIED, details: 'Protocol not secure enough' };
    default:
      return { code: GrpcCode.INTERNAL, details: `Received RST_STREAM with code ${errorCode}` };
  }
}

/** `grpc-message` is percent-encoded (RFC 3986 style); undecodable text is kept as sent. */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
