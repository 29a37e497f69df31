/**
 * Fresh lease ids for grants that ask for id 0, shaped like etcd's: the low 16 bits of the
 * member id in the top bits, then a millisecond timestamp and a counter; always a positive
 * int63.
 */
const SUFFIX_MASK = (1n << 48n) - 1n;
const TIMESTAMP_MASK = (1n << 40n) - 1n;
const INT63_MASK = (1n << 63n) - 1n;

export class LeaseIdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  /** @param wallClockMs the time the generator starts from (Unix ms). */
  constructor(memberId: bigint, wallClockMs: number = Date.now()) {
    this.prefix = (memberId & 0xffffn) << 48n;
    this.suffix = (BigInt(Math.floor(wallClockMs)) & TIMESTAMP_MASK) << 8n;
  }

  /** The next candidate id (never 0; callers skip ids already in use). */
  next(): bigint {
    for (;;) {
      this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
      const id = (this.prefix | this.suffix) & INT63_MASK;
      if (id !== 0n) return id;
    }
  }
}
