import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';

/** Where one log lives: its PostgreSQL schema, and the names derived from it. */
export interface LogNames {
  readonly schema: string;
  /** Qualified, quoted table names, ready for SQL text. */
  readonly events: string;
  readonly chainHeads: string;
  /** The LISTEN/NOTIFY channel announcing new head positions. */
  readonly channel: string;
  /** The transaction-level advisory lock every append takes before assigning positions. */
  readonly appendLock: string;
  readonly migrationLock: string;
}

/** Lower-case identifiers only, short enough that the derived names fit PostgreSQL's 63 bytes. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export function logNames(schema: string): LogNames {
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError(`invalid schema name ${JSON.stringify(schema)}: use 1-48 lower-case letters, digits or "_"`);
  }
  return {
    schema,
    events: `"${schema}".events`,
    chainHeads: `"${schema}".chain_heads`,
    channel: `${schema}_appended`,
    appendLock: lockKey('append', schema),
    migrationLock: lockKey('migrate', schema),
  };
}

/** A signed 64-bit advisory lock key, as SQL text, private to this purpose and schema. */
function lockKey(purpose: string, schema: string): string {
  return createHash('sha256').update(`nexus:${purpose}:${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * Creates what is missing; runs in a transaction. Two instances starting at once on a new
 * schema would race on CREATE SCHEMA IF NOT EXISTS (it is not atomic): the migration holds an
 * advisory lock.
 *
 * Data and metadata are stored as text, not jsonb: the hash chain covers the exact JSON that
 * was written, and jsonb would re-read it with its keys reordered.
 */
export async function migrate(client: ClientBase, names: LogNames): Promise<void> {
  const { schema, events, chainHeads } = names;
  await client.query(`SELECT pg_advisory_xact_lock(${names.migrationLock})`);
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS "${schema}";
    CREATE TABLE IF NOT EXISTS ${events} (
      position    bigint      PRIMARY KEY,
      tenant      text        NOT NULL,
      stream      text        NOT NULL,
      revision    integer     NOT NULL,
      event_id    text        NOT NULL,
      type        text        NOT NULL,
      version     integer     NOT NULL,
      data        text        NOT NULL,
      metadata    text        NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      chain       text        NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON ${events} (tenant, stream, revision);
    CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON ${events} (event_id);
    CREATE INDEX IF NOT EXISTS events_by_tenant ON ${events} (tenant, position);
    CREATE INDEX IF NOT EXISTS events_by_type ON ${events} (tenant, type, position);
    CREATE TABLE IF NOT EXISTS ${chainHeads} (
      tenant   text   PRIMARY KEY,
      position bigint NOT NULL,
      chain    text   NOT NULL
    );
  `);
}

/** The columns of a `StoredEvent`, in its order. */
const COLUMNS = 'position, tenant, stream, revision, event_id, type, version, data, metadata';
/** The same, with the bulky payloads left out (see `FeedQuery.withoutPayloads`), cut by the server. */
const LEAN_COLUMNS = `position, tenant, stream, revision, event_id, type, version,
  CASE type WHEN 'CommandAccepted' THEN jsonb_set(data::jsonb, '{params}', '{}'::jsonb)::text
            WHEN 'TaskSucceeded' THEN jsonb_set(data::jsonb, '{result}', 'null'::jsonb)::text
            ELSE data END AS data,
  metadata`;

/**
 * `page` (ordered by position, limited) cut where the bytes of the rows before reach `maxBytes`,
 * as `withinBytes` in event-store.ts does: the server never sends a page larger than memory wants.
 */
const withinBytes = (page: string, maxBytes: string, columns = COLUMNS) => `
  SELECT ${columns} FROM (
    SELECT *, sum(size) OVER (ORDER BY position) - size AS before FROM (
      SELECT *, octet_length(data) + octet_length(metadata) AS size FROM (${page}) limited
    ) sized
  ) counted WHERE before < ${maxBytes} ORDER BY position`;

/** A prepared statement: named, so each pooled connection parses and plans it once. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** The SQL of one log. A pool serves one schema, so the prepared statements' names can be fixed. */
export function statements(names: LogNames) {
  const { events, chainHeads } = names;
  const prepared = (name: string, text: string): Statement => ({ name: `nexus_${name}`, text });
  // Parameters: $1 after, $2 up to, $3 limit, $4 most bytes, then the tenant and the types when filtered on.
  const feed = (tenant: boolean, types: boolean, columns = COLUMNS): Statement => {
    const where = ['position > $1 AND position <= $2'];
    if (tenant) where.push('tenant = $5');
    if (types) where.push(`type = ANY ($${tenant ? 6 : 5}::text[])`);
    const name = ['feed', tenant && 'tenant', types && 'types', columns === LEAN_COLUMNS && 'lean']
      .filter(Boolean)
      .join('_');
    return prepared(
      name,
      withinBytes(`SELECT ${columns} FROM ${events} WHERE ${where.join(' AND ')} ORDER BY position LIMIT $3`, '$4'),
    );
  };
  return {
    /** One round trip: the lock is granted once every earlier append of the log has committed. */
    beginAppend: `BEGIN; SELECT pg_advisory_xact_lock(${names.appendLock})`,
    /**
     * Everything a batch is checked against, in one round trip: the head, the last revision of
     * each stream ($1, $2 zipped), the chain head of each tenant ($3), the events already stored
     * under one of the batch's ids ($4). Sets come back as JSON.
     */
    lookup: `SELECT
      (SELECT COALESCE(max(position), 0) FROM ${events}) AS head,
      (SELECT COALESCE(json_agg(json_build_array(s.tenant, s.stream, r.revision)), '[]')
         FROM unnest($1::text[], $2::text[]) AS s (tenant, stream)
         CROSS JOIN LATERAL (SELECT max(revision) AS revision FROM ${events} e WHERE e.tenant = s.tenant AND e.stream = s.stream) r
         WHERE r.revision IS NOT NULL) AS revisions,
      (SELECT COALESCE(json_agg(json_build_array(tenant, chain)), '[]') FROM ${chainHeads} WHERE tenant = ANY ($3::text[])) AS links,
      (SELECT COALESCE(json_agg(k), '[]') FROM (SELECT ${COLUMNS} FROM ${events} WHERE event_id = ANY ($4::text[])) k) AS known`,
    /** The whole batch in one round trip; the notification is delivered when it commits. */
    write: prepared(
      'write',
      `WITH inserted AS (
         INSERT INTO ${events} (${COLUMNS}, chain)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[])
       ), heads AS (
         INSERT INTO ${chainHeads} (tenant, position, chain)
         SELECT * FROM unnest($11::text[], $12::bigint[], $13::text[])
         ON CONFLICT (tenant) DO UPDATE SET position = excluded.position, chain = excluded.chain
       )
       SELECT pg_notify($14, $15)`,
    ),
    stream: prepared('stream', `SELECT ${COLUMNS} FROM ${events} WHERE tenant = $1 AND stream = $2 ORDER BY revision`),
    head: prepared('head', `SELECT COALESCE(max(position), 0) AS head FROM ${events}`),
    chainPage: prepared(
      'chain_page',
      withinBytes(
        `SELECT ${COLUMNS}, chain FROM ${events} WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3`,
        '$4',
        `${COLUMNS}, chain`,
      ),
    ),
    chainHead: prepared('chain_head', `SELECT position, chain FROM ${chainHeads} WHERE tenant = $1`),
    /** The feed, with or without a tenant and a type filter: one statement each, so each gets the plan that fits. */
    feed: {
      all: feed(false, false),
      tenant: feed(true, false),
      types: feed(false, true),
      tenantTypes: feed(true, true),
      /** Without the bulky payloads (see `FeedQuery.withoutPayloads`). */
      lean: feed(false, false, LEAN_COLUMNS),
      tenantLean: feed(true, false, LEAN_COLUMNS),
    },
  };
}

export type Statements = ReturnType<typeof statements>;
