import type { RecordedEvent } from '../../events/envelope.js';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import type { CommitSignal } from '../commit-signal.js';
import { conflictError, settleEach, type Settleable } from '../append-outcome.js';
import {
  StoreUnavailableError,
  typedEvent,
  UnstorableEventError,
  type AppendResult,
  type EventToAppend,
  type ExpectedRevision,
} from '../event-store.js';
import type { LogReader } from './log-reader.js';
import { encodeAppend } from './wire.js';
import type { WireAppend, WireResult, WriterAnswer, WriterChannel } from './writer-channel.js';

interface PendingAppend extends Settleable {
  /** Size of the append as sent to the writer. */
  bytes?: number;
  readonly tenant: Tenant;
  readonly stream: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
}

export interface AppendQueueOptions {
  readonly writer: WriterChannel;
  /** Reads back the original events of a duplicate append, and names tenants. */
  readonly reader: LogReader;
  /** Fired once a batch that wrote events is settled, and when the writer breaks. */
  readonly commits: CommitSignal;
  /** The events of one append as committed, in commit order, before the append resolves. */
  readonly onCommitted: (events: readonly RecordedEvent[], bytes: number) => void;
}

/**
 * The appends on their way to the writer thread and back. The appends of one turn of the event
 * loop travel as one batch; each is settled from the writer's answer for its batch.
 *
 * @example
 *   const appends = new AppendQueue({ writer, reader, commits, onCommitted: (events) => recent.push(events) });
 *   await appends.append(tenant, 'command-42', [event], 'no_stream');
 */
export class AppendQueue {
  private queue: PendingAppend[] = [];
  /** Batches sent to the writer and not answered yet, by id, in the order sent. */
  private readonly inFlight = new Map<number, PendingAppend[]>();
  private sendScheduled = false;
  private nextBatchId = 1;
  private drained: (() => void) | undefined;

  constructor(private readonly options: AppendQueueOptions) {}

  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ tenant, stream, events, expected, resolve, reject });
      if (!this.sendScheduled) {
        this.sendScheduled = true;
        // An idle writer gets the append at once; a busy one gets, in one message, all that
        // the rest of this turn of the event loop appends.
        if (this.inFlight.size === 0) queueMicrotask(() => this.send());
        else setImmediate(() => this.send());
      }
    });
  }

  /** Sends what is queued, and resolves once the writer answered every batch sent. */
  async flush(): Promise<void> {
    this.send();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  onAnswer(answer: WriterAnswer): void {
    const batches = answer.ids.map((id) => {
      const batch = this.inFlight.get(id) ?? [];
      this.inFlight.delete(id);
      return batch;
    });
    if ('failure' in answer) {
      const error = new StoreUnavailableError(`the event store could not commit: ${answer.failure}`);
      for (const pending of batches.flat()) pending.reject(error);
    } else {
      this.settle(batches.flat(), answer.results.flat());
    }
    if (this.inFlight.size === 0) this.drained?.();
  }

  /** The writer is gone: every append sent or queued fails with `error`. */
  failAll(error: Error): void {
    for (const pending of [...[...this.inFlight.values()].flat(), ...this.queue]) pending.reject(error);
    this.inFlight.clear();
    this.queue = [];
    this.options.commits.fire();
    this.drained?.();
  }

  private send(): void {
    this.sendScheduled = false;
    if (this.queue.length === 0) return;
    const batch: PendingAppend[] = [];
    // One string crosses to the writer thread far faster than a graph of objects. Each event's
    // data is serialized here, once, as it is stored; its length is also the memory the events
    // will take in `recent`.
    const parts: string[] = [];
    for (const pending of this.queue) {
      const { tenant, stream, expected, events } = pending;
      let wire: WireAppend['events'];
      try {
        wire = events.map(({ event_id, type, version, data, metadata }) => ({
          event_id,
          type,
          version,
          data: JSON.stringify(data) ?? 'null',
          metadata: JSON.stringify(metadata),
        }));
      } catch (error) {
        // Data JSON cannot hold (a cycle, a BigInt, nesting past the stack) fails its own append only.
        pending.reject(new UnstorableEventError(`the events of ${stream} cannot be stored as JSON`, { cause: error }));
        continue;
      }
      pending.bytes = wire.reduce((bytes, event) => bytes + event.data.length + event.metadata.length, 0);
      parts.push(encodeAppend({ tenant: tenantKey(tenant), stream, expected, events: wire }));
      batch.push(pending);
    }
    this.queue = [];
    if (batch.length === 0) return;
    const id = this.nextBatchId++;
    this.inFlight.set(id, batch);
    this.options.writer.send(id, parts.join(''));
  }

  private settle(batch: PendingAppend[], results: WireResult[]): void {
    const { reader, onCommitted } = this.options;
    let written = 0;
    const outcomes = batch.map((pending, i): AppendResult | Error => {
      const result = results[i]!;
      if (result.kind === 'conflict') return conflictError(pending.stream, pending.expected, result);
      if (result.kind === 'duplicate')
        return { revision: result.revision, events: reader.atPositions(result.positions) };
      const recorded = pending.events.map((event, j): RecordedEvent =>
        typedEvent({
          position: result.positions[j]!,
          tenant: reader.tenantOf(tenantKey(pending.tenant)),
          stream: pending.stream,
          revision: result.revision - pending.events.length + 1 + j,
          event_id: event.event_id,
          type: event.type,
          version: event.version,
          data: event.data,
          metadata: event.metadata,
        }),
      );
      if (recorded.length > 0) {
        // Appends commit in order: each one's events follow the previous one's.
        onCommitted(recorded, pending.bytes ?? 0);
        written += recorded.length;
      }
      return { revision: result.revision, events: recorded };
    });
    settleEach(batch, outcomes);
    if (written > 0) this.options.commits.fire();
  }
}
