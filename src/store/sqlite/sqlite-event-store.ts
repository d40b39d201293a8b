import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { dirname, join } from 'node:path';
import type { RecordedEvent } from '../../events/envelope.js';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import { CommitSignal, followCommits } from '../commit-signal.js';
import {
  PAGE_BYTES,
  StoreUnavailableError,
  type ChainVerification,
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
} from '../event-store.js';
import { RecentEvents } from '../recent-events.js';
import { AppendQueue } from './append-queue.js';
import { LogReader } from './log-reader.js';
import { acquireProcessLock } from './process-lock.js';
import { SCHEMA } from './schema.js';
import { threadedWriter, type WriterAnswer, type WriterChannel } from './writer-channel.js';

export interface SqliteEventStoreOptions {
  /** The database file; its folder also holds the process lock. */
  readonly path: string;
  /** Lifts stored data of older event versions; identity by default. */
  readonly upcast?: (type: string, version: number, data: unknown) => unknown;
  /** How many recent events live subscribers are served from memory. */
  readonly recentKeep?: number;
}

/**
 * The embedded event store: one SQLite file in WAL mode with `synchronous=FULL`, so an append
 * is on disk when its promise resolves. A worker thread owns the writing connection; the
 * appends of one turn of the event loop travel as one batch, and batches that reach it while
 * it commits are group-committed next, in one transaction (one fsync). Reads use a connection
 * of their own, which only ever sees committed, synced transactions.
 *
 * @example
 *   const store = await openSqliteEventStore({ path: './data/nexus.db' });
 */
export async function openSqliteEventStore(options: SqliteEventStoreOptions): Promise<EventStore> {
  mkdirSync(dirname(options.path), { recursive: true });
  const lock = acquireProcessLock(join(dirname(options.path), 'nexus.lock'));
  try {
    // The writer creates the schema the reader needs, so it starts first and answers later.
    const answers: { to?: SqliteEventStore } = {};
    const writer = await threadedWriter(
      options.path,
      SCHEMA,
      (answer: WriterAnswer) => answers.to?.onAnswer(answer),
      (error) => answers.to?.breakDown(error),
    );
    answers.to = new SqliteEventStore(options, writer, lock);
    return answers.to;
  } catch (error) {
    lock.close();
    throw error;
  }
}

class SqliteEventStore implements EventStore {
  private readonly reader: LogReader;
  private readonly recent: RecentEvents;
  private readonly commits = new CommitSignal();
  private readonly appends: AppendQueue;
  private head: number;
  private state: 'open' | 'closing' | 'closed' | 'broken' = 'open';

  constructor(
    private readonly options: SqliteEventStoreOptions,
    private readonly writer: WriterChannel,
    private readonly lock: Database.Database,
  ) {
    this.reader = new LogReader(options.path, options.upcast);
    this.head = this.reader.head();
    this.recent = new RecentEvents(options.recentKeep ?? 10_000);
    this.recent.startAfter(this.head);
    this.appends = new AppendQueue({
      writer,
      reader: this.reader,
      commits: this.commits,
      onCommitted: (events, bytes) => {
        this.recent.push(events, bytes);
        this.head = events[events.length - 1]!.position;
      },
    });
  }

  append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(new StoreUnavailableError(`the event store is ${this.state}`));
    return this.appends.append(tenant, stream, events, expected);
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    this.assertReadable();
    return this.reader.stream(tenantKey(tenant), stream);
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertReadable();
    return this.readFeedNow(query);
  }

  async headPosition(): Promise<number> {
    this.assertReadable();
    return this.head;
  }

  /** Off the event loop: a worker thread reads the tenant's rows on a connection of its own. */
  async verifyChain(tenant: Tenant): Promise<ChainVerification> {
    this.assertReadable();
    const answer = await new Promise<{ result?: ChainVerification; failure?: string }>((resolve, reject) => {
      const worker = new Worker(new URL('./verify.worker.js', import.meta.url), {
        workerData: { path: this.options.path, tenant: tenantKey(tenant) },
      });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', () => resolve({ failure: 'the verification thread stopped' }));
    });
    if (answer.result) return answer.result;
    throw new StoreUnavailableError(`the hash chain could not be verified: ${answer.failure ?? 'no answer'}`);
  }

  subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    return followCommits(
      this.commits,
      (query) => this.readFeedNow(query),
      () => this.state === 'open',
      options,
    );
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await this.appends.flush();
    this.commits.fire();
    this.state = 'closed';
    await this.writer.close();
    this.reader.close();
    this.lock.close();
  }

  onAnswer(answer: WriterAnswer): void {
    this.appends.onAnswer(answer);
  }

  breakDown(error: unknown): void {
    if (this.state === 'closed' || this.state === 'broken') return;
    this.state = 'broken';
    this.appends.failAll(new StoreUnavailableError('the event store writer failed', { cause: error }));
  }

  /** From memory when it reaches back far enough, else from the database. */
  private readFeedNow(query: FeedQuery): RecordedEvent[] {
    const upTo = query.upTo ?? Number.MAX_SAFE_INTEGER;
    const maxBytes = query.maxBytes ?? PAGE_BYTES;
    const types = query.types && new Set(query.types);
    const fromMemory = this.recent.read(
      query.after,
      upTo,
      query.limit,
      maxBytes,
      query.tenant && tenantKey(query.tenant),
      types,
    );
    return fromMemory ?? this.reader.feed(query, upTo, maxBytes);
  }

  private assertReadable(): void {
    if (this.state === 'closed' || this.state === 'broken')
      throw new StoreUnavailableError(`the event store is ${this.state}`);
  }
}
