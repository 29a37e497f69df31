/**
 * The raft bookkeeping a single member reports: a term that is nonzero and stable while
 * running (it goes up on each restart, as etcd's does) and an index that counts applied
 * proposals.
 */
export class RaftState {
  private currentTerm = 2n;
  private appliedIndex = 4n;

  get term(): bigint {
    return this.currentTerm;
  }

  get index(): bigint {
    return this.appliedIndex;
  }

  /** Records one applied proposal (a write, compaction, lease or auth change). */
  propose(): void {
    this.appliedIndex++;
  }

  /** A restart: a new election, a new term. */
  newTerm(): void {
    this.currentTerm++;
    this.appliedIndex++;
  }
}
