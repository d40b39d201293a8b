import type { Redis } from 'ioredis';
import type { RecordedEvent } from '../../events/envelope.js';
import { EXECUTORS_TENANT } from '../../events/executor-events.js';
import { tenantKey } from '../../events/tenant.js';
import type { Logger } from '../../observability/logger.js';
import { evolveExecutors, type Executors } from '../../projections/executors.js';
import type { LiveExecutors } from '../../projections/snapshot.js';
import { ConcurrencyError, type EventStore } from '../../store/event-store.js';
import { feedPages } from '../../store/feed-pages.js';
import { forgetWorker, knownWorkers, recordWorker } from './worker-presence.js';

export interface WorkerWatchOptions {
  readonly store: EventStore;
  readonly redis: Redis;
  readonly beatMs: number;
  readonly logger: Logger;
  readonly newEventId: () => string;
  readonly now: () => Date;
  /** Only the dispatching replica records departures. */
  readonly leads: () => boolean;
}

const executorsKey = tenantKey(EXECUTORS_TENANT);

/**
 * The supervisor's view of the worker processes: who joined and left (from the log) and their
 * heartbeats (from Redis). A worker whose heartbeats stopped for two checks in a row is recorded
 * as left (`lost`).
 */
export class WorkerWatch {
  private executors: Executors = new Map();
  private readonly heartbeats = new Map<string, string>();
  private readonly missed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The last executors' event folded: the log and the live feed may both hand it over. */
  private position = 0;
  /** Live batches that arrive while the history is read, folded after it. */
  private held: Array<readonly RecordedEvent[]> | undefined = [];

  constructor(private readonly options: WorkerWatchOptions) {}

  /** Reads what the log knows so far (events the live feed hands over meanwhile are kept too). */
  async start(): Promise<void> {
    for await (const page of feedPages(this.options.store, { tenant: EXECUTORS_TENANT })) this.fold(page);
    for (const batch of this.held ?? []) this.fold(batch);
    this.held = undefined;
    this.timer = setInterval(() => void this.check(), this.options.beatMs);
  }

  /** Folds the executors' events of a batch of the log, each once, in position order. */
  observe(batch: readonly RecordedEvent[]): void {
    if (this.held) this.held.push(batch);
    else this.fold(batch);
  }

  private fold(batch: readonly RecordedEvent[]): void {
    for (const event of batch) {
      if (tenantKey(event.tenant) !== executorsKey || event.position <= this.position) continue;
      this.executors = evolveExecutors(this.executors, event);
      this.position = event.position;
    }
  }

  live(): LiveExecutors {
    return { executors: this.executors, heartbeats: this.heartbeats };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    try {
      const registered = await knownWorkers(this.options.redis);
      for (const worker of registered) {
        if (worker.last_beat_at !== undefined) {
          this.heartbeats.set(worker.worker_id, new Date(worker.last_beat_at).toISOString());
          this.missed.delete(worker.worker_id);
          continue;
        }
        const missed = (this.missed.get(worker.worker_id) ?? 0) + 1;
        this.missed.set(worker.worker_id, missed);
        if (missed >= 2 && this.options.leads()) await this.lost(worker.worker_id);
      }
    } catch (error) {
      this.options.logger.debug({ err: error }, 'worker heartbeats not read (Redis away)');
    }
  }

  private async lost(workerId: string): Promise<void> {
    try {
      await recordWorker(this.options.store, { type: 'WorkerLeft', data: { worker_id: workerId, reason: 'lost' } }, 0, {
        now: this.options.now(),
        newEventId: this.options.newEventId,
      });
      this.options.logger.warn({ worker_id: workerId }, 'worker lost: its heartbeats stopped');
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      // another replica (or the worker itself) recorded it first
    }
    await forgetWorker(this.options.redis, workerId);
    this.missed.delete(workerId);
    this.heartbeats.delete(workerId);
  }
}
