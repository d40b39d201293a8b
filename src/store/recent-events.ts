import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey } from '../events/tenant.js';
import { indexAfter } from './positions.js';

/** Memory `recent` may take at most, whatever `keep` says (events can be large). */
const MAX_BYTES = 16 * 1024 * 1024;

/**
 * The last `keep` committed events of the whole log, in position order, so live subscribers
 * are served from memory instead of re-reading and re-parsing what was just written.
 */
export class RecentEvents {
  private events: RecordedEvent[] = [];
  /** Each event's share of its batch's bytes, parallel to `events`. */
  private sizes: number[] = [];
  /** Approximate size of each batch pushed, oldest first, with its last position. */
  private batches: Array<{ last: number; bytes: number }> = [];
  private bytes = 0;
  /** Every event after this position is held (until trimmed). */
  private coveredAfter = 0;

  constructor(private readonly keep: number) {}

  startAfter(position: number): void {
    this.events = [];
    this.sizes = [];
    this.batches = [];
    this.bytes = 0;
    this.coveredAfter = position;
  }

  /** Committed events, in order, and roughly how much memory they take. */
  push(events: readonly RecordedEvent[], bytes: number): void {
    this.events.push(...events);
    const each = bytes / events.length;
    for (let i = 0; i < events.length; i++) this.sizes.push(each);
    this.batches.push({ last: events[events.length - 1]!.position, bytes });
    this.bytes += bytes;
    let drop = Math.max(0, this.events.length - this.keep);
    if (drop <= this.keep / 4 && this.bytes <= MAX_BYTES) return;
    // Whole batches go while memory is over its budget, then events beyond `keep`.
    while (this.bytes > MAX_BYTES * 0.75 && this.batches.length > 1) {
      const oldest = this.batches.shift()!;
      this.bytes -= oldest.bytes;
      drop = Math.max(drop, indexAfter(this.events, oldest.last));
    }
    if (drop === 0) return;
    this.coveredAfter = this.events[drop - 1]!.position;
    this.events = this.events.slice(drop);
    this.sizes = this.sizes.slice(drop);
    while (this.batches.length > 0 && this.batches[0]!.last <= this.coveredAfter)
      this.bytes -= this.batches.shift()!.bytes;
  }

  /** The page after `after` (within `maxBytes`, as `withinBytes` counts), or `undefined` when memory does not cover it. */
  read(
    after: number,
    upTo: number,
    limit: number,
    maxBytes: number,
    tenant?: string,
    types?: ReadonlySet<string>,
  ): RecordedEvent[] | undefined {
    if (after < this.coveredAfter) return undefined;
    const page: RecordedEvent[] = [];
    let bytes = 0;
    for (
      let i = indexAfter(this.events, after);
      i < this.events.length && page.length < limit && (page.length === 0 || bytes < maxBytes);
      i++
    ) {
      const event = this.events[i]!;
      if (event.position > upTo) break;
      if (
        (tenant === undefined || tenantKey(event.tenant) === tenant) &&
        (types === undefined || types.has(event.type))
      ) {
        page.push(event);
        bytes += this.sizes[i]!;
      }
    }
    return page;
  }
}
