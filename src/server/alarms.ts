import { AlarmType } from './wire.js';

/** One raised alarm. */
export interface Alarm {
  readonly memberID: bigint;
  readonly alarm: AlarmType;
}

/**
 * The cluster's alarms (NOSPACE, CORRUPT). While NOSPACE is raised, writes that add data fail
 * with "database space exceeded"; while CORRUPT is raised, every KV request fails.
 */
export class Alarms {
  private readonly raised: Alarm[] = [];

  /** Raised alarms, optionally only of one type (NONE = all). */
  list(type: AlarmType = AlarmType.NONE): Alarm[] {
    return this.raised.filter((a) => type === AlarmType.NONE || a.alarm === type);
  }

  has(type: AlarmType): boolean {
    return this.raised.some((a) => a.alarm === type);
  }

  /** Raises an alarm; returns it (or the existing identical one). */
  activate(memberID: bigint, alarm: AlarmType): Alarm {
    const found = this.raised.find((a) => a.memberID === memberID && a.alarm === alarm);
    if (found) return found;
    const a = { memberID, alarm };
    this.raised.push(a);
    return a;
  }

  /** Clears an alarm; returns it, or undefined when it was not raised. */
  deactivate(memberID: bigint, alarm: AlarmType): Alarm | undefined {
    const i = this.raised.findIndex((a) => a.memberID === memberID && a.alarm === alarm);
    if (i < 0) return undefined;
    return this.raised.splice(i, 1)[0];
  }

  /** Status.errors lines, as etcd prints them ("memberID:<id> alarm:NOSPACE "). */
  describe(): string[] {
    const names: Record<number, string> = { [AlarmType.NOSPACE]: 'NOSPACE', [AlarmType.CORRUPT]: 'CORRUPT' };
    return this.raised.map((a) => `memberID:${a.memberID} alarm:${names[a.alarm] ?? String(a.alarm)} `);
  }
}
