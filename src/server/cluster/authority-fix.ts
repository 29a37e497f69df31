/**
 * Makes `:authority` values with a URL scheme acceptable to Node's HTTP/2 server.
 *
 * etcdctl 3.4 dials members directly for Maintenance calls (`endpoint status`, `move-leader`,
 * `defrag` ...) and then sends the endpoint as given, e.g. `:authority: http://127.0.0.1:2379`
 * (always so with `--cluster`, which takes MemberList's client URLs). etcd (Go) accepts it;
 * nghttp2, under Node's HTTP/2 server, resets the stream with PROTOCOL_ERROR. This rewriter
 * sits on the client-to-server bytes of a connection and replaces such a value by its
 * `host:port`; everything else passes through byte for byte.
 *
 * It needs no header table: a rewritten field keeps its representation (a literal with
 * incremental indexing stays one), so both ends' tables keep the same entries in the same
 * order. Only literals naming `:authority` by static index 1 or by a literal name are
 * looked at (what Go's and nghttp2's encoders send).
 */
import { HpackError, parseBlock, stringText, writeLiteral, type Field, type FieldKind } from './hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER = 9;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** The peer's default SETTINGS_MAX_FRAME_SIZE (grpc-js does not raise it). */
const MAX_FRAME = 16384;
/** Header blocks above this are passed on untouched (never seen in practice). */
const MAX_BLOCK = 1024 * 1024;
const STATIC_AUTHORITY = 1;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]+)\/?$/;

/**
 * - preface: the 24-byte client preface goes through;
 * - header: collecting a 9-byte frame header;
 * - pass: forwarding the payload of a frame that is not a header block;
 * - block: collecting a HEADERS frame and its CONTINUATIONs up to END_HEADERS.
 */
type State = 'preface' | 'header' | 'pass' | 'block';

/** One connection's client-to-server byte stream, rewritten (see the module comment). */
export class AuthorityFix {
  private state: State = 'preface';
  private need = PREFACE.length;
  private header = Buffer.alloc(0);
  /** Raw bytes of the header block frames collected so far (passed on as-is if nothing changes). */
  private frames: Buffer[] = [];
  private frameBytes = 0;
  private current = Buffer.alloc(0);
  private currentType = 0;
  private currentFlags = 0;
  /** Set once the stream is not HTTP/2 as expected: from then on, bytes pass untouched. */
  private bypass = false;

  /** Takes the next chunk from the client; returns the bytes to forward (in order). */
  push(chunk: Buffer): Buffer[] {
    if (this.bypass) return [chunk];
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      switch (this.state) {
        case 'preface': {
          const n = Math.min(this.need, chunk.length - at);
          const offset = PREFACE.length - this.need;
          // not an HTTP/2 client: leave its bytes alone
          if (!chunk.subarray(at, at + n).equals(PREFACE.subarray(offset, offset + n))) this.bypass = true;
          out.push(chunk.subarray(at, at + n));
          at += n;
          this.need -= n;
          if (this.need === 0 || this.bypass) this.toHeader();
          break;
        }
        case 'pass': {
          const n = Math.min(this.need, chunk.length - at);
          out.push(chunk.subarray(at, at + n));
          at += n;
          this.need -= n;
          if (this.need === 0) this.toHeader();
          break;
        }
        case 'header': {
          const n = Math.min(FRAME_HEADER - this.header.length, chunk.length - at);
          this.header = Buffer.concat([this.header, chunk.subarray(at, at + n)]);
          at += n;
          if (this.header.length === FRAME_HEADER) this.onFrameHeader(out);
          break;
        }
        case 'block': {
          const n = Math.min(this.need, chunk.length - at);
          this.current = Buffer.concat([this.current, chunk.subarray(at, at + n)]);
          at += n;
          this.need -= n;
          if (this.need === 0) this.onBlockFrame(out);
          break;
        }
      }
    }
    return out;
  }

  private toHeader(): void {
    if (this.bypass) {
      // everything from here on passes untouched
      this.state = 'pass';
      this.need = Number.POSITIVE_INFINITY;
      return;
    }
    this.state = 'header';
    this.header = Buffer.alloc(0);
  }

  private onFrameHeader(out: Buffer[]): void {
    const header = this.header;
    const length = header.readUIntBE(0, 3);
    const type = header[3]!;
    const inBlock = this.frames.length > 0;
    if (inBlock && type !== CONTINUATION) {
      // not HTTP/2 as we know it: give up rewriting on this connection
      this.flushRaw(out);
      this.giveUp(out, header, length);
      return;
    }
    if (type === HEADERS || (inBlock && type === CONTINUATION)) {
      if (this.frameBytes + FRAME_HEADER + length > MAX_BLOCK) {
        this.flushRaw(out);
        this.giveUp(out, header, length);
        return;
      }
      this.state = 'block';
      this.currentType = type;
      this.currentFlags = header[4]!;
      this.current = Buffer.alloc(0);
      this.need = length;
      if (length === 0) this.onBlockFrame(out);
      return;
    }
    out.push(header);
    this.state = 'pass';
    this.need = length;
    if (length === 0) this.toHeader();
  }

  /** Keeps forwarding `header`'s payload, then everything, untouched. */
  private giveUp(out: Buffer[], header: Buffer, length: number): void {
    out.push(header);
    this.bypass = true;
    this.state = 'pass';
    this.need = length;
  }

  private onBlockFrame(out: Buffer[]): void {
    this.frames.push(this.header, this.current);
    this.frameBytes += this.header.length + this.current.length;
    if (this.currentFlags & END_HEADERS) this.finishBlock(out);
    this.toHeader();
  }

  private flushRaw(out: Buffer[]): void {
    out.push(...this.frames);
    this.frames = [];
    this.frameBytes = 0;
  }

  /** The whole header block is in: forward it rewritten, or as it came. */
  private finishBlock(out: Buffer[]): void {
    const rewritten = this.rewrite();
    if (rewritten === undefined) this.flushRaw(out);
    else {
      out.push(...rewritten);
      this.frames = [];
      this.frameBytes = 0;
    }
  }

  /** New frames for the collected block, or undefined when nothing needs to change. */
  private rewrite(): Buffer[] | undefined {
    const first = this.frames[1]!;
    const flags = this.frames[0]![4]!;
    const streamId = this.frames[0]!.readUInt32BE(5) & 0x7fffffff;
    let payload = first;
    if (flags & PADDED) {
      if (payload.length < 1) return undefined;
      const pad = payload[0]!;
      if (pad > payload.length - 1) return undefined;
      payload = payload.subarray(1, payload.length - pad);
    }
    let priority: Buffer | undefined;
    if (flags & PRIORITY) {
      if (payload.length < 5) return undefined;
      priority = payload.subarray(0, 5);
      payload = payload.subarray(5);
    }
    const fragments = [payload];
    for (let i = 3; i < this.frames.length; i += 2) fragments.push(this.frames[i]!);
    const block = Buffer.concat(fragments);
    let fields: Field[];
    try {
      fields = parseBlock(block);
    } catch (err) {
      if (err instanceof HpackError) return undefined;
      throw err;
    }
    const parts: Buffer[] = [];
    let changed = false;
    let copied = 0;
    for (const f of fields) {
      if (!isLiteral(f.kind)) continue;
      const fixed = fixedAuthority(block, f);
      if (fixed === undefined) continue;
      parts.push(block.subarray(copied, f.start), Buffer.from(writeLiteral(f.kind, STATIC_AUTHORITY, fixed)));
      copied = f.end;
      changed = true;
    }
    if (!changed) return undefined;
    parts.push(block.subarray(copied));
    return headerFrames(streamId, flags & END_STREAM, priority, Buffer.concat(parts));
  }
}

type LiteralKind = 'incremental' | 'withoutIndexing' | 'neverIndexed';

function isLiteral(kind: FieldKind): kind is LiteralKind {
  return kind === 'incremental' || kind === 'withoutIndexing' || kind === 'neverIndexed';
}

/** The `host:port` to send instead of this literal's value, when it is an `:authority` with a scheme. */
function fixedAuthority(block: Buffer, f: Field): string | undefined {
  if (f.value === undefined) return undefined;
  try {
    const isAuthority =
      f.nameIndex === STATIC_AUTHORITY || (f.nameIndex === 0 && f.name !== undefined && stringText(block, f.name) === ':authority');
    if (!isAuthority) return undefined;
    return SCHEME.exec(stringText(block, f.value))?.[1];
  } catch (err) {
    if (err instanceof HpackError) return undefined;
    throw err;
  }
}

/** A HEADERS frame (plus CONTINUATIONs when the block is large) carrying `block`. */
function headerFrames(streamId: number, endStream: number, priority: Buffer | undefined, block: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const firstRoom = MAX_FRAME - (priority?.length ?? 0);
  let at = 0;
  let first = true;
  do {
    const room = first ? firstRoom : MAX_FRAME;
    const piece = block.subarray(at, at + room);
    at += piece.length;
    const last = at >= block.length;
    const flags = (first ? endStream | (priority ? PRIORITY : 0) : 0) | (last ? END_HEADERS : 0);
    const payload = first && priority ? Buffer.concat([priority, piece]) : piece;
    const header = Buffer.alloc(FRAME_HEADER);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = first ? HEADERS : CONTINUATION;
    header[4] = flags;
    header.writeUInt32BE(streamId, 5);
    out.push(header, payload);
    first = false;
  } while (at < block.length);
  return out;
}
