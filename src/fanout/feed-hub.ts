import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey, type Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { sleep } from '../shared/sleep.js';
import type { FeedProjection } from '../projections/fold-feed.js';
import { TenantFeed } from './tenant-feed.js';

/** How long a read waits for this replica to reach a position another one handed out. */
const CATCH_UP_MS = 10_000;

/** This replica has not reached a position in time (it lags behind the log). */
export class NotCaughtUpError extends Error {
  constructor(
    readonly wanted: number,
    readonly reached: number,
  ) {
    super(`this replica has processed the log up to ${reached}, not yet ${wanted}; retry in a moment`);
    this.name = 'NotCaughtUpError';
  }
}

export interface FeedHubOptions<S> {
  readonly store: EventStore;
  readonly projection: FeedProjection<S>;
  readonly render: (event: RecordedEvent) => Uint8Array;
  /** `STREAM_EVENT_KEEP` */
  readonly keep: number;
  /** A snapshot checkpoint every this many events of a tenant (1000 by default). */
  readonly checkpointEvery?: number;
  /** A feed nobody has used for this long is dropped from memory. */
  readonly idleMs?: number;
  readonly onError?: (error: unknown) => void;
  /** Sees every batch of the log as it arrives (metrics). */
  readonly onBatch?: (batch: readonly RecordedEvent[]) => void;
}

/**
 * In-process fan-out: one subscription to the whole log, split by tenant into `TenantFeed`s
 * that exist only while someone watches. Each event is folded and rendered once, however
 * many subscribers read it.
 *
 * @example
 *   const hub = await FeedHub.start({ store, projection, render, keep: 2000 });
 *   const feed = hub.attach(tenant); ... hub.detach(feed);
 */
export class FeedHub<S> {
  /** The last log position the hub has processed. */
  position: number;
  private readonly feeds = new Map<string, TenantFeed<S>>();
  private readonly positionWaiters = new Set<{ readonly position: number; readonly wake: () => void }>();
  private readonly abort = new AbortController();
  private readonly sweeper: NodeJS.Timeout;
  private loop: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: FeedHubOptions<S>,
    head: number,
  ) {
    this.position = head;
    const idleMs = options.idleMs ?? 60_000;
    this.sweeper = setInterval(() => this.sweep(idleMs), Math.min(idleMs, 30_000)).unref();
  }

  static async start<S>(options: FeedHubOptions<S>): Promise<FeedHub<S>> {
    const hub = new FeedHub(options, await options.store.headPosition());
    hub.loop = hub.follow();
    return hub;
  }

  /** The tenant's feed, counted as watched until `detach`. */
  attach(tenant: Tenant): TenantFeed<S> {
    const feed = this.feed(tenant);
    feed.subscribers++;
    return feed;
  }

  detach(feed: TenantFeed<S>): void {
    feed.subscribers--;
    feed.idleSince = Date.now();
  }

  /** The tenant's feed for a one-off read. */
  feed(tenant: Tenant): TenantFeed<S> {
    const key = tenantKey(tenant);
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = new TenantFeed(tenant, {
        store: this.options.store,
        projection: this.options.projection,
        render: this.options.render,
        keep: this.options.keep,
        checkpointEvery: this.options.checkpointEvery ?? 1000,
        hubPosition: () => this.position,
      });
      this.feeds.set(key, feed);
    }
    feed.idleSince = Date.now();
    return feed;
  }

  /**
   * A tenant's state: the current one when `at` is absent, otherwise exactly as of `at`, so a
   * stream resumed at `at` goes on with the events after it. A position this replica has not
   * reached yet (another replica handed it out) is waited for, up to `CATCH_UP_MS`; one past the
   * log's head belongs to no log this NEXUS has, and gets the current state.
   */
  async stateAt(tenant: Tenant, at?: number, signal?: AbortSignal): Promise<{ state: S; position: number }> {
    const feed = this.feed(tenant);
    if (at === undefined) return feed.current();
    if (at > this.position) {
      if (at > (await this.options.store.headPosition())) return feed.current();
      await this.reached(at, signal);
    }
    return { state: await feed.stateAt(at), position: at };
  }

  /** Resolves once the hub has processed `position`; `NotCaughtUpError` after `CATCH_UP_MS`. */
  reached(position: number, signal?: AbortSignal): Promise<void> {
    if (position <= this.position) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { position, wake: () => settle(resolve) };
      const settle = (then: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.positionWaiters.delete(waiter);
        then();
      };
      const onAbort = () => settle(() => reject(signal!.reason));
      const timer = setTimeout(() => settle(() => reject(new NotCaughtUpError(position, this.position))), CATCH_UP_MS);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.positionWaiters.add(waiter);
    });
  }

  get subscriberCount(): number {
    let count = 0;
    for (const feed of this.feeds.values()) count += feed.subscribers;
    return count;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.abort.abort();
    for (const feed of this.feeds.values()) feed.close();
    await this.loop;
  }

  private async follow(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      try {
        for await (const batch of this.options.store.subscribe({ after: this.position, signal })) {
          this.dispatch(batch);
        }
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.options.onError?.(error);
        await sleep(1000, signal);
      }
    }
  }

  private dispatch(batch: readonly RecordedEvent[]): void {
    const touched = new Set<TenantFeed<S>>();
    for (const event of batch) {
      const feed = this.feeds.get(tenantKey(event.tenant));
      if (!feed) continue;
      feed.push(event);
      touched.add(feed);
    }
    this.position = batch[batch.length - 1]!.position;
    for (const feed of touched) feed.notify();
    for (const waiter of this.positionWaiters) if (waiter.position <= this.position) waiter.wake();
    this.options.onBatch?.(batch);
  }

  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [key, feed] of this.feeds) {
      if (feed.subscribers === 0 && now - feed.idleSince > idleMs) this.feeds.delete(key);
    }
  }
}
