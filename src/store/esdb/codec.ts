import {
  jsonEvent,
  START,
  type EventData,
  type JSONType,
  type Position,
  type ReadPosition,
  type RecordedEvent as EsdbEvent,
} from '@eventstore/db-client';
import type { EventMetadata, RecordedEvent } from '../../events/envelope.js';
import { tenantKey, type Tenant } from '../../events/tenant.js';
import type { ChainedContent } from '../chain.js';
import { StoreUnavailableError, typedEvent, type EventToAppend } from '../event-store.js';
import { esdbEventId, type EsdbNames } from './names.js';

/**
 * An event's metadata in EventStoreDB: the port's own, plus the event's version and, when the
 * port's id is not a lowercase UUID, that id (ESDB ids must be UUIDs).
 */
interface StoredMetadata extends EventMetadata {
  readonly nexus_version?: number;
  readonly nexus_event_id?: string;
}

type Upcast = (type: string, version: number, data: unknown) => unknown;

/**
 * Positions are ESDB commit positions as Numbers. Every event NEXUS writes is a prepare record
 * flagged as committed, whose commit and prepare positions are both its own byte offset in
 * the transaction log: unique, and increasing in the order of $all, through the events of one
 * append too. Numbers are exact up to 2^53 bytes (8 PiB) of log.
 */
export function positionOf(event: { readonly position?: Position }): number {
  const commit = event.position?.commit;
  if (commit === undefined || commit < 0n || commit > BigInt(Number.MAX_SAFE_INTEGER)) {
    // Stream reads carry positions from EventStoreDB 22.6 on; older servers send none or 2^64-1.
    throw new StoreUnavailableError(
      `EventStoreDB gave no usable log position (${String(commit)}): version 23.10 or later is needed`,
    );
  }
  return Number(commit);
}

/** Where to start reading so that the first event is the one after `after` (0: the start). */
export function readAfter(after: number): ReadPosition {
  if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`a position is an integer ≥ 0, not ${after}`);
  return after === 0 ? START : { commit: BigInt(after), prepare: BigInt(after) };
}

export function toEventData(event: EventToAppend): EventData {
  const id = esdbEventId(event.event_id);
  const metadata: StoredMetadata =
    id === event.event_id
      ? { nexus_version: event.version, ...event.metadata }
      : { nexus_version: event.version, nexus_event_id: event.event_id, ...event.metadata };
  // JSON events hold any JSON value; the client's type says object, array or string.
  return jsonEvent({ id, type: event.type, data: event.data as JSONType, metadata });
}

/** Reads NEXUS events back from what EventStoreDB stored. */
export class EsdbCodec {
  private readonly tenants = new Map<string, Tenant>();

  constructor(
    private readonly names: EsdbNames,
    private readonly upcast: Upcast = (_type, _version, data) => data,
  ) {}

  /** The event as the port records it; undefined when its stream is not one of ours. */
  toRecorded(event: EsdbEvent): RecordedEvent | undefined {
    const decoded = this.decode(event);
    if (!decoded) return undefined;
    const { tenant, stream, event_id, version, metadata } = decoded;
    return typedEvent({
      position: positionOf(event),
      tenant,
      stream,
      revision: Number(event.revision),
      event_id,
      type: event.type,
      version,
      data: this.upcast(event.type, version, event.data),
      metadata,
    });
  }

  /** What the hash chain covers: the event as stored, data and metadata as JSON text. */
  chained(event: EsdbEvent): ChainedContent | undefined {
    const decoded = this.decode(event);
    if (!decoded) return undefined;
    const { tenant, stream, event_id, version, metadata } = decoded;
    return {
      tenant: tenantKey(tenant),
      stream,
      revision: Number(event.revision),
      event_id,
      type: event.type,
      version,
      // Parsed then stringified again: the same text as written, since JSON keeps key order.
      data: JSON.stringify(event.data),
      metadata: JSON.stringify(metadata),
    };
  }

  /** Whether the event is one NEXUS wrote: in one of its streams, and not the server's own. */
  owns(event: EsdbEvent): boolean {
    // The server writes `$`-typed events into streams too, e.g. `$streamDeleted` at a tombstone.
    return !event.type.startsWith('$') && this.names.parse(event.streamId) !== undefined;
  }

  private decode(event: EsdbEvent) {
    const place = event.type.startsWith('$') ? undefined : this.names.parse(event.streamId);
    if (!place) return undefined;
    const raw = event.metadata;
    const stored = (typeof raw === 'object' && raw !== null && !(raw instanceof Uint8Array)
      ? raw
      : {}) as unknown as StoredMetadata;
    const { nexus_version: version = 1, nexus_event_id: event_id = event.id, ...metadata } = stored;
    return {
      tenant: this.tenantOf(place.tenant),
      stream: place.stream,
      event_id,
      version,
      metadata: metadata as EventMetadata,
    };
  }

  private tenantOf(tenant: Tenant): Tenant {
    const key = tenantKey(tenant);
    let known = this.tenants.get(key);
    if (!known) {
      known = tenant;
      this.tenants.set(key, known);
    }
    return known;
  }
}
