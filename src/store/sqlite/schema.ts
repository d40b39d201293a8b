/** The tables of the embedded log; the writer thread creates what is missing when it opens. */
export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    chain       TEXT
  );
  CREATE TABLE IF NOT EXISTS chain_heads (
    tenant   TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    chain    TEXT    NOT NULL
  );
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (tenant, stream, revision);
  CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (event_id);
  CREATE INDEX IF NOT EXISTS events_by_tenant ON events (tenant, position);
  CREATE INDEX IF NOT EXISTS events_by_type ON events (tenant, type, position);
`;

/** A row as `SELECT ${COLUMNS}` returns it in raw mode (arrays are cheaper to build than objects). */
export type EventRow = [
  position: number,
  tenant: string,
  stream: string,
  revision: number,
  event_id: string,
  type: string,
  version: number,
  data: string,
  metadata: string,
];

export const COLUMNS = 'position, tenant, stream, revision, event_id, type, version, data, metadata';

/** The same, with the bulky payloads left out (see `FeedQuery.withoutPayloads`): SQLite's JSON functions cut them before JavaScript parses anything. */
export const LEAN_COLUMNS = `position, tenant, stream, revision, event_id, type, version,
  CASE type WHEN 'CommandAccepted' THEN json_set(data, '$.params', json('{}')) WHEN 'TaskSucceeded' THEN json_set(data, '$.result', json('null')) ELSE data END AS data,
  metadata`;

/** A row's position and the bytes of its data and metadata, for cutting a page by bytes. */
export const SIZE_COLUMNS = 'position, octet_length(data) + octet_length(metadata)';
