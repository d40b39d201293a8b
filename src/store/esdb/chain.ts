import {
  BACKWARDS,
  END,
  jsonEvent,
  NO_STREAM,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
  type EventStoreDBClient,
  type ReadStreamOptions,
} from '@eventstore/db-client';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import { chainLink, GENESIS } from '../chain.js';
import { ChainWalk, END_REMOVED, LINK_MISMATCH } from '../chain-check.js';
import type { ChainVerification } from '../event-store.js';
import { positionOf, type EsdbCodec } from './codec.js';
import type { EsdbNames } from './names.js';
import { catchUp, storeError } from './reads.js';

/** A tenant's chain as it stood after the event at `position`. */
interface Seal {
  readonly position: number;
  readonly link: string;
}

const SEALED = 'ChainSealed';

/**
 * The per-tenant hash chain over EventStoreDB, the same links as the embedded store's
 * (`chain.js`) in the order of $all. ESDB has no transaction across streams, so a link cannot be
 * written with its event: instead, after appends, a background pass computes the links of the
 * tenant's new events and appends a seal { position, link } to `<prefix>~chain~<tenant>`, with
 * the expected revision of that stream, so that two processes never fork the chain. Verifying
 * recomputes every link from the start and compares it with every seal.
 *
 * What this catches, honestly: ESDB never edits an event in place, so the risk is removal. A
 * deleted or truncated stream ($tb, $maxAge, $maxCount, tombstone) vanishes from stream reads
 * at once but from $all only when a scavenge runs; from then on the first seal after the gap
 * stops matching. Events appended after the last seal are checked by no seal until the next pass,
 * and whoever may write to `<prefix>~chain~…` may rewrite the seals too: record the `head` that
 * `verifyChain` returns outside EventStoreDB to detect that.
 */
export class EsdbChain {
  /** The sealing pass running per tenant key, and whether another was asked for meanwhile. */
  private readonly passes = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly names: EsdbNames,
    private readonly codec: EsdbCodec,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Seals the tenant's events appended so far, in the background; one pass per tenant at a time. */
  request(tenant: Tenant): void {
    const key = tenantKey(tenant);
    const running = this.passes.get(key);
    if (running) {
      running.again = true;
      return;
    }
    const pass = { again: true, done: Promise.resolve() };
    this.passes.set(key, pass);
    pass.done = (async () => {
      while (pass.again) {
        pass.again = false;
        // A failed pass leaves the events unsealed until the next one: nothing is lost.
        await this.seal(tenant).catch((error: unknown) => this.onError(error));
      }
      this.passes.delete(key);
    })();
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    while (this.passes.size > 0) await Promise.all([...this.passes.values()].map((pass) => pass.done));
  }

  async verify(tenant: Tenant): Promise<ChainVerification> {
    // Seals first: every event a seal covers was written before it, so the read after sees it.
    const all = (await this.readSeals(tenant, {})).map(({ seal }) => seal);
    // Each pass seals further than the one before: a seal that does not was written by another hand.
    const disorder = all.findIndex((seal, i) => i > 0 && seal.position <= all[i - 1]!.position);
    const seals = disorder === -1 ? all : all.slice(0, disorder);
    const walk = new ChainWalk();
    let next = 0;
    await catchUp(this.client, {
      after: 0,
      filter: { streamPrefix: this.names.tenant(tenant) },
      onEvent: (event) => {
        const content = this.codec.chained(event);
        if (!content) return true;
        const position = positionOf(event);
        const seal = seals[next];
        if (seal && seal.position < position)
          return walk.fail(seal.position, 'the sealed event at this position is gone: events were deleted');
        const link = walk.next(content);
        for (; seals[next]?.position === position; next++) {
          if (seals[next]!.link !== link) return walk.fail(position, LINK_MISMATCH);
        }
        walk.matched(position);
        return true;
      },
    });
    const unmatched = seals[next];
    if (unmatched) walk.fail(unmatched.position, END_REMOVED);
    if (disorder !== -1)
      walk.fail(all[disorder]!.position, `a seal out of order: something else wrote to ${this.names.chain(tenant)}`);
    return walk.verdict();
  }

  private async seal(tenant: Tenant): Promise<void> {
    const name = this.names.chain(tenant);
    for (let attempt = 0; attempt < 5; attempt++) {
      const [last] = await this.readSeals(tenant, { direction: BACKWARDS, fromRevision: END, maxCount: 1 });
      const sealing = { ...(last?.seal ?? { position: 0, link: GENESIS }), added: 0 };
      await catchUp(this.client, {
        after: sealing.position,
        filter: { streamPrefix: this.names.tenant(tenant) },
        onEvent: (event) => {
          const content = this.codec.chained(event);
          if (content) {
            sealing.link = chainLink(sealing.link, content);
            sealing.position = positionOf(event);
            sealing.added++;
          }
          return true;
        },
      });
      if (sealing.added === 0) return;
      const { position, link } = sealing;
      try {
        await this.client.appendToStream(name, jsonEvent({ type: SEALED, data: { position, link } }), {
          expectedRevision: last ? last.revision : NO_STREAM,
        });
        return;
      } catch (error) {
        // Another process sealed meanwhile: start again from its seal.
        if (!(error instanceof WrongExpectedVersionError)) throw storeError(error, `append to ${name}`);
      }
    }
  }

  private async readSeals(
    tenant: Tenant,
    options: ReadStreamOptions,
  ): Promise<Array<{ revision: bigint; seal: Seal }>> {
    const seals: Array<{ revision: bigint; seal: Seal }> = [];
    try {
      for await (const { event } of this.client.readStream(this.names.chain(tenant), options)) {
        if (event?.type === SEALED) seals.push({ revision: event.revision, seal: asSeal(event.data) });
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError || error instanceof StreamDeletedError) return [];
      throw storeError(error, `read ${this.names.chain(tenant)}`);
    }
    return seals;
  }
}

function asSeal(data: unknown): Seal {
  const { position, link } = (data ?? {}) as Partial<Seal>;
  // A malformed seal never matches a link, so verification reports the chain broken there.
  return { position: Number.isSafeInteger(position) ? position! : 0, link: typeof link === 'string' ? link : '' };
}
