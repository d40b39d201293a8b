import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltInDeps } from '../../src/catalog/built-in.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { appendEvents } from '../../src/commands/append-events.js';
import { loadConfig } from '../../src/config/load-config.js';
import { TenantUsage } from '../../src/dispatch/tenant-usage.js';
import type { DomainEvent, RecordedEvent } from '../../src/events/envelope.js';
import type { Tenant } from '../../src/events/tenant.js';
import { FeedHub } from '../../src/fanout/feed-hub.js';
import { createApp } from '../../src/http/app.js';
import { reportFrame } from '../../src/http/sse/sse-frames.js';
import { openCore, type Core } from '../../src/main/core.js';
import { createLogger } from '../../src/observability/logger.js';
import { snapshotProjection } from '../../src/projections/snapshot.js';
import { memoryEventStore } from '../../src/store/memory/memory-event-store.js';
import { API_KEY, ADMIN_KEY } from './nexus.js';

export interface ApiRequest {
  readonly method?: string;
  readonly path: string;
  /** Sends the tenant headers. */
  readonly tenant?: Tenant;
  /** `x-api-key`: NEXUS_API_KEY unless given; `null` sends none. */
  readonly key?: string | null;
  /** Sent as JSON (a string as it is). */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The JSON body, or the text when it is not JSON. */
  readonly body: unknown;
  /** What the request appended to the log. */
  readonly events: readonly RecordedEvent[];
}

export interface ApiSpec {
  readonly core: Core;
  readonly app: ReturnType<typeof createApp>;
  /** Appends events (through the write path) before the request. */
  given(tenant: Tenant, stream: string, events: readonly DomainEvent[], actor?: string): Promise<void>;
  /** Sends a request to the app in memory: no socket, no server. */
  when(request: ApiRequest): Promise<ApiAnswer>;
  close(): Promise<void>;
}

/**
 * NEXUS's HTTP API over the in-memory log, wired as the supervisor wires it, without a server:
 * given events, when a request, then its status and the events it appended. For the HTTP rules
 * that need no socket (SSE, backpressure and restarts need a real server: test/support/nexus.ts).
 *
 * @example
 *   const api = await apiSpec();
 *   const { status, events } = await api.when({ method: 'POST', path: '/sidecar/command', tenant, body });
 */
export async function apiSpec(
  env: Record<string, string> = {},
  options: { catalog?: (deps: BuiltInDeps) => Catalog; now?: () => Date } = {},
): Promise<ApiSpec> {
  const config = loadConfig({
    NEXUS_API_KEY: API_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    SESSION_SECRET: 'api-spec-session-secret-of-32-chars!',
    RATE_LIMIT_PER_SECOND: '0',
    LOG_LEVEL: 'silent',
    NEXUS_DATA_DIR: mkdtempSync(join(tmpdir(), 'nexus-api-spec-')),
    ...env,
  });
  const store = memoryEventStore();
  const core = await openCore(config, {
    processId: 'api-spec',
    logger: createLogger({ level: config.LOG_LEVEL }),
    ...options,
    store: { store, kind: 'sqlite' },
    listenUrl: () => 'http://nexus.test',
  });
  const projection = snapshotProjection({
    worklogKeep: config.STREAM_WORKLOG_KEEP,
    deadLettersKeep: config.DEAD_LETTERS_KEEP,
  });
  const hub = await FeedHub.start({
    store: core.store,
    projection,
    render: reportFrame,
    keep: config.STREAM_EVENT_KEEP,
  });
  core.closing.defer('fan-out', () => hub.close());
  // What the dispatcher would follow: each tenant's waiting asks and memory.
  const usage = new TenantUsage();
  let seen = 0;
  const catchUp = async () => {
    const events = await core.store.readFeed({ after: seen, limit: 100_000 });
    for (const event of events) usage.apply(event);
    seen = events.at(-1)?.position ?? seen;
    return events;
  };
  const shutdown = new AbortController();
  core.closing.defer('streams', () => shutdown.abort());
  const app = createApp({
    ...core,
    hub,
    projection,
    shutdown: shutdown.signal,
    startedAt: core.now(),
    mode: 'embedded',
    usage: (tenant) => usage.of(tenant),
    gauges: () => ({}),
  });
  return {
    core,
    app,
    async given(tenant, stream, events, actor = 'alice') {
      const metadata = { now: core.now(), correlation_id: 'given', actor };
      await appendEvents(core.store, { tenant, stream }, [{ events, metadata }], 'any', () => core.newId());
      await catchUp();
    },
    async when({ method = 'GET', path, tenant, key = API_KEY, body, headers = {} }) {
      const sent: Record<string, string> = { ...headers };
      if (key !== null) sent['x-api-key'] = key;
      if (tenant) Object.assign(sent, { 'x-org-id': tenant.org_id, 'x-project-id': tenant.project_id });
      if (body !== undefined) sent['content-type'] ??= 'application/json';
      const init = {
        method,
        headers: sent,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      };
      const response = await app.request(path, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: the text itself
      }
      return { status: response.status, headers: response.headers, body: parsed, events: await catchUp() };
    },
    close: () => core.closing.close(),
  };
}
