/**
 * Watch IDs of one stream: a client may choose any non-zero ID not in use; ID 0 asks for an
 * automatic one, counted 0, 1, 2, ... per stream, skipping IDs in use (etcd 3.5's rule; a
 * counter, so cancelled IDs are not handed out again automatically).
 */
export class WatchIds {
  private nextAuto = 0n;

  /** `undefined` when a client-chosen ID is already in use. */
  assign(requested: bigint, inUse: (id: bigint) => boolean): bigint | undefined {
    if (requested !== 0n) return inUse(requested) ? undefined : requested;
    while (inUse(this.nextAuto)) this.nextAuto++;
    return this.nextAuto++;
  }
}
