import type { RecordedEvent } from '../../events/envelope.js';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import { checkAppend } from '../append-checks.js';
import { conflictError } from '../append-outcome.js';
import { chainLink, GENESIS } from '../chain.js';
import { ChainWalk } from '../chain-check.js';
import { CommitSignal, followCommits } from '../commit-signal.js';
import {
  PAGE_BYTES,
  StoreUnavailableError,
  UnstorableEventError,
  type AppendResult,
  type ChainVerification,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type FeedQuery,
  type SubscribeOptions,
  typedEvent,
} from '../event-store.js';

interface Stored {
  readonly event: RecordedEvent;
  readonly link: string;
  /** Bytes of its data and metadata as JSON. */
  readonly size: number;
}

/**
 * An event store in memory: nothing survives the process. For tests that need thousands of
 * scenarios per second, and for trying NEXUS out; it passes the same conformance suite as the
 * other adapters. Appends resolve asynchronously, so concurrent callers interleave as they would
 * against a real engine.
 *
 * @example
 *   const store = memoryEventStore();
 */
export function memoryEventStore(): EventStore {
  return new MemoryEventStore();
}

class MemoryEventStore implements EventStore {
  private readonly log: Stored[] = [];
  private readonly streams = new Map<string, Stored[]>();
  private readonly ids = new Map<string, Stored>();
  private readonly heads = new Map<string, string>();
  private readonly commits = new CommitSignal();
  private closed = false;

  async append(
    tenant: Tenant,
    stream: string,
    events: readonly EventToAppend[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    await Promise.resolve();
    if (this.closed) throw new StoreUnavailableError('the event store is closed');
    const tenantId = tenantKey(tenant);
    const key = `${tenantId}|${stream}`;
    const existing = this.streams.get(key) ?? [];
    const actual = existing.length - 1;
    const refused = checkAppend({ tenant: tenantId, stream, expected, events }, actual, (id) => this.landing(id));
    if (refused?.kind === 'conflict') throw conflictError(stream, expected, refused);
    if (refused) return { revision: refused.revision, events: refused.rows.map((row) => row.event) };
    // Serialized first: an append whose data JSON cannot hold is refused whole.
    const texts = events.map((event) => {
      try {
        return { data: JSON.stringify(event.data) ?? 'null', metadata: JSON.stringify(event.metadata) };
      } catch (cause) {
        throw new UnstorableEventError(`the events of ${stream} cannot be stored as JSON`, { cause });
      }
    });
    const recorded = events.map((event, i): RecordedEvent => {
      const revision = actual + 1 + i;
      const { data, metadata } = texts[i]!;
      const stored = {
        event: typedEvent({ ...event, position: this.log.length + 1, tenant, stream, revision }),
        link: '',
      };
      const link = chainLink(this.heads.get(tenantId) ?? GENESIS, {
        tenant: tenantId,
        stream,
        revision,
        event_id: event.event_id,
        type: event.type,
        version: event.version,
        data,
        metadata,
      });
      const entry = { event: stored.event, link, size: data.length + metadata.length };
      this.heads.set(tenantId, link);
      this.log.push(entry);
      existing.push(entry);
      this.ids.set(event.event_id, entry);
      return entry.event;
    });
    this.streams.set(key, existing);
    if (recorded.length > 0) this.commits.fire();
    return { revision: actual + events.length, events: recorded };
  }

  async readStream(tenant: Tenant, stream: string): Promise<RecordedEvent[]> {
    this.assertOpen();
    return (this.streams.get(`${tenantKey(tenant)}|${stream}`) ?? []).map((s) => s.event);
  }

  async readFeed(query: FeedQuery): Promise<RecordedEvent[]> {
    this.assertOpen();
    return this.readNow(query);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.log.length;
  }

  async verifyChain(tenant: Tenant): Promise<ChainVerification> {
    this.assertOpen();
    const tenantId = tenantKey(tenant);
    const walk = new ChainWalk();
    for (const stored of this.log) {
      const { event } = stored;
      if (tenantKey(event.tenant) !== tenantId) continue;
      const { position, stream, revision, event_id, type, version } = event;
      if (
        walk.next({
          tenant: tenantId,
          stream,
          revision,
          event_id,
          type,
          version,
          data: JSON.stringify(event.data),
          metadata: JSON.stringify(event.metadata),
        }) !== stored.link
      ) {
        walk.fail(position, 'this event, or one before it, was changed');
        break;
      }
      walk.matched(position);
    }
    return walk.verdict();
  }

  subscribe(options: SubscribeOptions): AsyncIterable<readonly RecordedEvent[]> {
    return followCommits(
      this.commits,
      (query) => this.readNow(query),
      () => !this.closed,
      options,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.commits.fire();
  }

  private readNow({ tenant, after, upTo, types, limit, maxBytes = PAGE_BYTES }: FeedQuery): RecordedEvent[] {
    const key = tenant && tenantKey(tenant);
    const wanted = types && new Set(types);
    const page: RecordedEvent[] = [];
    let bytes = 0;
    for (let i = after; i < this.log.length && page.length < limit && (page.length === 0 || bytes < maxBytes); i++) {
      const { event, size } = this.log[i]!;
      if (upTo !== undefined && event.position > upTo) break;
      if ((key === undefined || tenantKey(event.tenant) === key) && (wanted === undefined || wanted.has(event.type))) {
        page.push(event);
        bytes += size;
      }
    }
    return page;
  }

  /** Where the event stored under `id` is, if one is. */
  private landing(id: string) {
    const stored = this.ids.get(id);
    return (
      stored && {
        tenant: tenantKey(stored.event.tenant),
        stream: stored.event.stream,
        revision: stored.event.revision,
        event: stored.event,
      }
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the event store is closed');
  }
}
