import { int, variable, type Variable } from './variable.js';

/** What one request, key or tenant may take: bodies, rates, streams, expensive reads. */
export const limitsVariables = {
  MAX_BODY_BYTES: variable(
    'ADVANCED',
    int(1024, 100 * 1024 * 1024, 1_048_576),
    'Largest request body; larger ones get 413.',
    '1048576',
  ),
  RATE_LIMIT_PER_SECOND: variable(
    'ADVANCED',
    int(0, 1_000_000, 200),
    'Requests per second per tenant (0 turns the limit off).',
    '200',
  ),
  RATE_LIMIT_BURST: variable(
    'ADVANCED',
    int(1, 10_000_000, 400),
    'Requests a tenant may send at once above the rate.',
    '400',
  ),
  AUTH_FAILURES_PER_MINUTE: variable(
    'ADVANCED',
    int(0, 1_000_000, 60),
    'Requests per minute one client address may make with a wrong or missing key, or to POST /session, before 429 (0 turns the limit off).',
    '60',
  ),
  MAX_JSON_DEPTH: variable(
    'ADVANCED',
    int(2, 1000, 32),
    'Deepest nesting of objects and arrays a request body may have (422 beyond).',
    '32',
  ),
  TENANT_MAX_PENDING_ASKS: variable(
    'ADVANCED',
    int(1, 1_000_000, 500),
    'Asks one tenant may have waiting for a decision; another RED command gets 429.',
    '500',
  ),
  TENANT_MAX_ASK_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 16 * 1024 * 1024),
    "Bytes of params one tenant's waiting asks may hold together; another RED command gets 429.",
    '16777216',
  ),
  TENANT_MAX_MEMORY_KEYS: variable(
    'ADVANCED',
    int(1, 1_000_000, 1000),
    "Keys one tenant's memory may hold; a memory.set of a new key beyond gets 429 (a handler's, MEMORY_FULL).",
    '1000',
  ),
  TENANT_MAX_MEMORY_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 8 * 1024 * 1024),
    "Bytes one tenant's memory values may take together; a memory.set beyond gets 429 (a handler's, MEMORY_FULL).",
    '8388608',
  ),
  DEAD_LETTERS_KEEP: variable(
    'ADVANCED',
    int(1, 1_000_000, 500),
    "Dead letters a tenant's snapshot lists at most, newest first (older ones stay in the log).",
    '500',
  ),
  SSE_MAX_CONNECTIONS: variable(
    'ADVANCED',
    int(1, 10_000_000, 10_000),
    'Open SSE streams this process serves at most; more get 429.',
    '10000',
  ),
  SSE_MAX_CONNECTIONS_PER_TENANT: variable(
    'ADVANCED',
    int(1, 10_000_000, 1000),
    'Open SSE streams of one tenant at most; more get 429.',
    '1000',
  ),
  SSE_MAX_CONNECTIONS_PER_KEY: variable(
    'ADVANCED',
    int(1, 10_000_000, 1000),
    'Open SSE streams of one key (principal) at most; more get 429.',
    '1000',
  ),
  SNAPSHOT_MAX_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 64 * 1024 * 1024),
    'Largest snapshot NEXUS sends (the SSE snapshot event, GET /agent/snapshot); a larger one gets 503 until asks are decided or memory is freed.',
    '67108864',
  ),
  EXPENSIVE_READS_PER_KEY: variable(
    'ADVANCED',
    int(1, 1000, 2),
    "Reads that fold or scan a tenant's history (past snapshots, diffs, report pages, audit, spend) one key may run at once; more get 429.",
    '2',
  ),
  EXPENSIVE_READ_MS_PER_SECOND: variable(
    'ADVANCED',
    int(1, 3_600_000, 200),
    "Milliseconds of each second one key's reads of history may take on average (a burst of one second's worth); past it they get 429. 3600000 turns the limit off.",
    '200',
  ),
  OUTBOX_MAX_BYTES_PER_TENANT: variable(
    'ADVANCED',
    int(1024, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
    "Bytes one tenant's outbox (exports and share packages) may hold; an export or share beyond fails with OUTBOX_FULL.",
    '1073741824',
  ),
  OUTBOX_RETENTION_HOURS: variable(
    'ADVANCED',
    int(1, 87_600, 168),
    'Exports older than this, and expired share packages, are deleted from the outbox.',
    '168',
  ),
} satisfies Record<string, Variable>;
