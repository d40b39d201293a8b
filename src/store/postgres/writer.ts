import type pg from 'pg';
import type { RecordedEvent } from '../../events/envelope.js';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import { conflictError, settleEach, type Settleable } from '../append-outcome.js';
import {
  typedEvent,
  type AppendResult,
  type StoreUnavailableError,
  type EventToAppend,
  type ExpectedRevision,
} from '../event-store.js';
import {
  planBatch,
  serialize,
  streamKey,
  type AppendRequest,
  type SerializedEvent,
  type BatchPlan,
  type LogState,
  type StoredEvent,
} from './append-plan.js';
import { CommitInDoubtError, inTransaction, isRefusedData, unavailable } from './connections.js';
import { wasRecorded } from './in-doubt.js';
import type { LogNames, Statements } from './schema.js';

/** What a transaction wrote, and the head it found under the lock: nothing lies between. */
export interface Written {
  readonly events: readonly RecordedEvent[];
  /** Roughly the memory the events take. */
  readonly bytes: number;
  readonly headBefore: number;
}

export interface WriterOptions {
  readonly pool: pg.Pool;
  readonly names: LogNames;
  readonly sql: Statements;
  readonly tenantOf: (key: string) => Tenant;
  readonly toRecorded: (row: StoredEvent) => RecordedEvent;
  /** Called once a transaction committed events, before its appends resolve. */
  readonly onWritten: (written: Written) => void;
  /** How long a COMMIT in doubt is looked up while the database is out of reach. Default 10 000 ms. */
  readonly inDoubtMs?: number;
}

interface PendingAppend extends AppendRequest, Settleable {
  /** The events as the caller gave them: what the append resolves to. */
  readonly given: readonly EventToAppend[];
}

/** What a transaction wrote, before it sent COMMIT. */
interface Planned {
  readonly plan: BatchPlan;
  readonly headBefore: number;
}

interface LookupRow {
  head: number;
  revisions: Array<[tenant: string, stream: string, revision: number]>;
  links: Array<[tenant: string, chain: string]>;
  known: StoredEvent[];
}

/** Events in one transaction, at most: more appends wait for the next one. */
const BATCH_EVENTS = 1000;

/**
 * Group commit: the appends of one turn of the event loop, and those that arrive while a
 * transaction commits, go in the next transaction, one at a time per instance. Each takes the
 * log's advisory lock, reads what the batch is checked against, and writes it in one statement.
 */
export class BatchWriter {
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | undefined;

  constructor(private readonly options: WriterOptions) {}

  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    // Serialized at once, outside the lock: an event JSON cannot hold fails its own append only.
    let serialized: SerializedEvent[];
    try {
      serialized = events.map(serialize);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({
        tenant: tenantKey(tenant),
        stream,
        events: serialized,
        given: events,
        expected,
        resolve,
        reject,
      });
      // Started in a microtask: the appends made in the rest of this turn join the transaction.
      this.writing ??= Promise.resolve().then(() => this.drain());
    });
  }

  /** Resolves once every append queued so far is settled. */
  async flush(): Promise<void> {
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.takeBatch());
    this.writing = undefined;
  }

  private takeBatch(): PendingAppend[] {
    let events = 0;
    let taken = 0;
    while (taken < this.queue.length && (taken === 0 || events + this.queue[taken]!.events.length <= BATCH_EVENTS)) {
      events += this.queue[taken]!.events.length;
      taken++;
    }
    return this.queue.splice(0, taken);
  }

  /** Settles every append of the batch; never throws. */
  private async commit(batch: PendingAppend[]): Promise<void> {
    // Set once the batch is written: what a COMMIT in doubt may have recorded.
    let sent: Planned | undefined;
    let committed: Planned;
    try {
      committed = await inTransaction(
        this.options.pool,
        this.options.sql.beginAppend,
        async (client) => (sent = await this.write(client, batch)),
      );
    } catch (error) {
      if (error instanceof CommitInDoubtError && sent) {
        await this.settleInDoubt(batch, sent, error);
        return;
      }
      if (batch.length > 1 && isRefusedData(error)) {
        // PostgreSQL refused one append's data (a NUL in a stream name, say): the others go
        // without it.
        for (const pending of batch) await this.commit([pending]);
        return;
      }
      const failure = unavailable(error, 'commit');
      for (const pending of batch) pending.reject(failure);
      return;
    }
    this.settle(batch, committed.plan, committed.headBefore);
  }

  /**
   * The connection failed at COMMIT: the batch is settled as the log says it ended, before the
   * next batch starts. Conflicts and duplicates wrote nothing and stand either way. Rolled back,
   * the appends that wrote fail as before the COMMIT (the caller may retry: nothing was
   * recorded); if the log cannot be asked in time, they fail too, their outcome unknown.
   */
  private async settleInDoubt(
    batch: readonly PendingAppend[],
    { plan, headBefore }: Planned,
    error: CommitInDoubtError,
  ): Promise<void> {
    let lost: StoreUnavailableError | undefined;
    if (plan.rows.length > 0) {
      const { pool, names, inDoubtMs = 10_000 } = this.options;
      lost = await wasRecorded(plan.rows, { pool, names, withinMs: inDoubtMs }).then(
        (recorded) => (recorded ? undefined : unavailable(error.cause, 'commit')),
        () => unavailable(error, 'commit'),
      );
    }
    this.settle(batch, plan, headBefore, lost);
  }

  private async write(client: pg.PoolClient, batch: readonly PendingAppend[]): Promise<Planned> {
    const state = await this.lookup(client, batch);
    const headBefore = state.head;
    const plan = planBatch(batch, state);
    if (plan.rows.length > 0) {
      const { name, text } = this.options.sql.write;
      await client.query({ name, text, values: this.writeValues(plan) });
    }
    return { plan, headBefore };
  }

  private async lookup(client: pg.PoolClient, batch: readonly PendingAppend[]): Promise<LogState> {
    const streams = new Map<string, PendingAppend>();
    for (const append of batch) streams.set(streamKey(append.tenant, append.stream), append);
    const values = [
      [...streams.values()].map((a) => a.tenant),
      [...streams.values()].map((a) => a.stream),
      [...new Set(batch.map((a) => a.tenant))],
      batch.flatMap((a) => a.events.map((e) => e.event_id)),
    ];
    // Not prepared: a plan made for one batch size (the generic plan PostgreSQL switches a
    // prepared statement to) was found to be four times slower on others.
    const found = (await client.query<LookupRow>({ text: this.options.sql.lookup, values })).rows[0]!;
    return {
      head: found.head,
      revisions: new Map(found.revisions.map(([tenant, stream, revision]) => [streamKey(tenant, stream), revision])),
      links: new Map(found.links),
      known: new Map(found.known.map((row) => [row.event_id, row])),
    };
  }

  private writeValues({ rows, heads }: BatchPlan): unknown[] {
    const column = <K extends keyof BatchPlan['rows'][number]>(name: K) => rows.map((row) => row[name]);
    return [
      column('position'),
      column('tenant'),
      column('stream'),
      column('revision'),
      column('event_id'),
      column('type'),
      column('version'),
      column('data'),
      column('metadata'),
      column('chain'),
      [...heads.keys()],
      [...heads.values()].map((head) => head.position),
      [...heads.values()].map((head) => head.chain),
      this.options.names.channel,
      String(rows[rows.length - 1]!.position),
    ];
  }

  /** What the first append of these events resolved to, read back from the log. */
  private original(revision: number, rows: readonly StoredEvent[]): AppendResult | Error {
    try {
      return { revision, events: rows.map((row) => this.options.toRecorded(row)) };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** `lost`: the transaction did not commit (or may not have), and the appends that wrote fail with it. */
  private settle(
    batch: readonly PendingAppend[],
    plan: BatchPlan,
    headBefore: number,
    lost?: StoreUnavailableError,
  ): void {
    const { tenantOf } = this.options;
    const written: RecordedEvent[] = [];
    let bytes = 0;
    const outcomes = batch.map((pending, i): AppendResult | Error => {
      const outcome = plan.outcomes[i]!;
      const { stream, expected } = pending;
      if (outcome.kind === 'conflict') return conflictError(stream, expected, outcome);
      if (outcome.kind === 'duplicate') return this.original(outcome.revision, outcome.rows);
      if (lost && outcome.rows.length > 0) return lost;
      const events = outcome.rows.map((row, j): RecordedEvent => {
        const { data, metadata } = pending.given[j]!;
        const { position, revision, event_id, type, version } = row;
        bytes += row.data.length + row.metadata.length;
        return typedEvent({
          position,
          tenant: tenantOf(row.tenant),
          stream,
          revision,
          event_id,
          type,
          version,
          data,
          metadata,
        });
      });
      written.push(...events);
      return { revision: outcome.revision, events };
    });
    if (written.length > 0) this.options.onWritten({ events: written, bytes, headBefore });
    settleEach(batch, outcomes);
  }
}
