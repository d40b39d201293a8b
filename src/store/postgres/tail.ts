import type { RecordedEvent } from '../../events/envelope.js';
import { CommitSignal } from '../commit-signal.js';
import { PAGE_BYTES, StoreUnavailableError } from '../event-store.js';
import { RecentEvents } from '../recent-events.js';

/** The whole log after a position, from the database, roughly the memory its events take, and whether more may follow. */
export type ReadLog = (
  after: number,
  limit: number,
) => Promise<{ events: RecordedEvent[]; bytes: number; more: boolean }>;

export interface TailPage {
  readonly events: RecordedEvent[];
  /** How far the log was looked through for them: the next page starts after it. */
  readonly scannedTo: number;
}

const PAGE = 1000;

/**
 * What one instance has read of the shared log, kept in memory for its live subscribers, so
 * they do not each query the database at every commit. It holds every event up to `position`
 * (positions commit in order, so none can turn up behind it later), and reads on when told the
 * log moved: by this instance's commits, a notification, a poke or the poll.
 */
export class LogTail {
  private readonly recent: RecentEvents;
  private tailPosition = 0;
  private reading = false;
  private readAgain = false;
  private stopped = false;
  private failure: unknown;
  private readonly moved = new CommitSignal();

  constructor(
    private readonly read: ReadLog,
    keep: number,
  ) {
    this.recent = new RecentEvents(keep);
  }

  get position(): number {
    return this.tailPosition;
  }

  startAt(head: number): void {
    this.tailPosition = head;
    this.recent.startAfter(head);
  }

  /** Resolves when the tail next moves, or stops. Take it before reading, so no move is missed. */
  next(): Promise<void> {
    return this.moved.next();
  }

  /** The page after `after` from memory, or `undefined` when memory no longer reaches back to it. Throws what made the tail fail. */
  page(after: number, limit: number, tenant?: string): TailPage | undefined {
    if (this.failure !== undefined) throw this.failure;
    const events = this.recent.read(after, this.tailPosition, limit, PAGE_BYTES, tenant);
    if (!events) return undefined;
    // A page cut short by its bytes is not the end: only an empty one says memory holds no more.
    return {
      events,
      scannedTo: events.length > 0 ? events[events.length - 1]!.position : Math.max(after, this.tailPosition),
    };
  }

  /** This instance committed `written`: when the tail holds all before it, it follows at once. */
  committed(written: { events: readonly RecordedEvent[]; bytes: number; headBefore: number }): void {
    if (this.tailPosition >= written.headBefore) this.advance(written.events, written.bytes);
    else void this.catchUp();
  }

  /** Reads the log past `position`; one read at a time, and once more if asked meanwhile. */
  async catchUp(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.readAgain = false;
        for (let more = true; more && !this.stopped;) {
          const page = await this.read(this.tailPosition, PAGE);
          more = page.more;
          this.advance(page.events, page.bytes);
        }
      } while (this.readAgain && !this.stopped);
    } catch (error) {
      // Out of reach, the database is tried again at the next commit, notification or poll. An
      // event that cannot be read (an upcaster that throws) fails the subscribers instead of
      // stalling them without a word.
      if (!(error instanceof StoreUnavailableError)) {
        this.failure = error;
        this.moved.fire();
      }
    } finally {
      this.reading = false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.moved.fire();
  }

  /** `events`: every event after some position, in order, up to the last one. */
  private advance(events: readonly RecordedEvent[], bytes: number): void {
    // This instance's commits may have moved the tail while a read was in flight.
    const fresh =
      events.length > 0 && events[0]!.position <= this.tailPosition
        ? events.filter((e) => e.position > this.tailPosition)
        : events;
    if (fresh.length === 0) return;
    this.recent.push(fresh, bytes);
    this.tailPosition = fresh[fresh.length - 1]!.position;
    this.moved.fire();
  }
}
