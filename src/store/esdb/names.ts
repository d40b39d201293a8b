import {
  ANY,
  NO_STREAM,
  STREAM_EXISTS,
  type AppendExpectedRevision,
  type CurrentRevision,
} from '@eventstore/db-client';
import { createHash } from 'node:crypto';
import type { Tenant } from '../../events/tenant.js';
import type { ExpectedRevision } from '../event-store.js';

/**
 * Where NEXUS keeps things in EventStoreDB. Stream `s` of tenant `o/p` is the ESDB stream
 * `<prefix>-<e(o)>~<e(p)>~<e(s)>`, `e` percent-encoding every character but letters, digits,
 * `_`, `.` and `-`. An encoded part never holds a `~`, so a name splits back into exactly one
 * (tenant, stream), and `<prefix>-<e(o)>~<e(p)>~` starts the names of that tenant's streams and
 * of no other tenant's: the server-side filter of its feed. A prefix holds no `-` or `~`, so
 * `<prefix>-` starts every stream of this NEXUS and none of a NEXUS with another prefix. The
 * chain seals (`chain.ts`) live under `<prefix>~chain~`, out of every feed.
 */
export interface EsdbNames {
  readonly prefix: string;
  /** Starts the name of every tenant stream, of every tenant. */
  readonly all: string;
  /** Starts the names of this tenant's streams, and of no other tenant's. */
  tenant(tenant: Tenant): string;
  stream(tenant: Tenant, stream: string): string;
  /** The tenant's chain seals. */
  chain(tenant: Tenant): string;
  /** The tenant and stream of a name made by `stream`; undefined for any other name. */
  parse(name: string): { tenant: Tenant; stream: string } | undefined;
}

const PREFIX = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function esdbNames(prefix = 'nexus'): EsdbNames {
  if (!PREFIX.test(prefix))
    throw new RangeError(`an EventStoreDB prefix is a letter then up to 63 letters, digits or "_": "${prefix}"`);
  const all = `${prefix}-`;
  const tenantPart = (tenant: Tenant): string => `${escapeSegment(tenant.org_id)}~${escapeSegment(tenant.project_id)}~`;
  return {
    prefix,
    all,
    tenant: (tenant) => all + tenantPart(tenant),
    stream: (tenant, stream) => all + tenantPart(tenant) + escapeSegment(stream),
    chain: (tenant) => `${prefix}~chain~${tenantPart(tenant)}`,
    parse(name) {
      if (!name.startsWith(all)) return undefined;
      const parts = name.slice(all.length).split('~');
      if (parts.length !== 3) return undefined;
      try {
        return {
          tenant: { org_id: unescapeSegment(parts[0]!), project_id: unescapeSegment(parts[1]!) },
          stream: unescapeSegment(parts[2]!),
        };
      } catch {
        return undefined;
      }
    },
  };
}

/** UTF-8 percent-encoding of all but `[A-Za-z0-9_.-]`: injective, and never a `~`. */
export const escapeSegment = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export const unescapeSegment = (segment: string): string => decodeURIComponent(segment);

/** The port's expected revision as the client's: a revision becomes a BigInt. */
export function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
  }
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(
      `an expected revision is 'any', 'no_stream', 'stream_exists' or an integer ≥ 0, not ${String(expected)}`,
    );
  }
  return BigInt(expected);
}

/** The stream's actual revision, as a `WrongExpectedVersionError` reports it, for `ConcurrencyError`. */
export const fromEsdbCurrent = (current: CurrentRevision): number | 'no_stream' =>
  current === NO_STREAM || current < 0n ? 'no_stream' : Number(current);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The ESDB event id (a UUID) of a port event id. A lowercase UUID is kept as it is (the server
 * hands UUIDs back lowercase); any other id maps to a UUIDv8 made from its SHA-256, and the
 * original travels in the event's metadata (`codec.ts`).
 */
export function esdbEventId(eventId: string): string {
  if (UUID.test(eventId)) return eventId;
  const hex = createHash('sha256').update(eventId).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** This client (6.x) reads only `esdb://` and `esdb+discover://`; KurrentDB's schemes mean the same. */
export const esdbConnectionString = (url: string): string =>
  url.replace(/^(?:kurrentdb|kdb)(\+discover)?:\/\//, 'esdb$1://');
