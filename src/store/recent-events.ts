import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey } from '../events/tenant.js';
import { indexAfter } from './positions.js';

/**
 * The last `keep` committed events of the whole log, in position order, so live subscribers
 * are served from memory instead of re-reading and re-parsing what was just written.
 */
export class RecentEvents {
  private events: RecordedEvent[] = [];
  /** Every event after this position is held (until trimmed). */
  private coveredAfter = 0;

  constructor(private readonly keep: number) {}

  startAfter(position: number): void {
    this.events = [];
    this.coveredAfter = position;
  }

  push(events: readonly RecordedEvent[]): void {
    this.events.push(...events);
    const excess = this.events.length - this.keep;
    if (excess > this.keep / 4) {
      this.coveredAfter = this.events[excess - 1]!.position;
      this.events = this.events.slice(excess);
    }
  }

  /** The page after `after`, or `undefined` when memory does not cover it. */
  read(after: number, upTo: number, limit: number, tenant?: string): RecordedEvent[] | undefined {
    if (after < this.coveredAfter) return undefined;
    const page: RecordedEvent[] = [];
    for (let i = indexAfter(this.events, after); i < this.events.length && page.length < limit; i++) {
      const event = this.events[i]!;
      if (event.position > upTo) break;
      if (tenant === undefined || tenantKey(event.tenant) === tenant) page.push(event);
    }
    return page;
  }
}
