import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/observability/logger.js';
import { startNexus, type RunningNexus, type StartOptions } from '../../src/main/supervisor.js';
import type { Tenant } from '../../src/events/tenant.js';
import { SseClient } from './sse-client.js';

export const API_KEY = 'test-api-key-0123456789';
export const ADMIN_KEY = 'test-admin-key-0123456789';

export interface TestNexus extends RunningNexus {
  readonly dataDir: string;
  headers(tenant: Tenant, extra?: Record<string, string>): Record<string, string>;
  /** POST /sidecar/command as JSON. */
  command(tenant: Tenant, body: unknown, extra?: Record<string, string>): Promise<Response>;
  get(path: string, tenant: Tenant, extra?: Record<string, string>): Promise<Response>;
  stream(tenant: Tenant, options?: { lastEventId?: number; query?: string }): Promise<SseClient>;
}

/** An embedded NEXUS on a free port with its own data folder, keys required. */
export async function startTestNexus(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestNexus> {
  const dataDir = env.NEXUS_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'nexus-test-'));
  const config = loadConfig({
    NEXUS_API_KEY: API_KEY,
    ADMIN_API_KEY: ADMIN_KEY,
    HOST: '127.0.0.1',
    PORT: '0',
    RATE_LIMIT_PER_SECOND: '0',
    RETRY_BASE_DELAY_MS: '10',
    LOG_LEVEL: 'silent',
    ...env,
    NEXUS_DATA_DIR: dataDir,
  });
  const nexus = await startNexus(config, { logger: createLogger({ level: config.LOG_LEVEL }), ...options });
  const headers = (tenant: Tenant, extra: Record<string, string> = {}) => ({
    'x-api-key': API_KEY,
    'x-org-id': tenant.org_id,
    'x-project-id': tenant.project_id,
    ...extra,
  });
  return {
    ...nexus,
    dataDir,
    headers,
    command: (tenant, body, extra = {}) =>
      fetch(`${nexus.url}/sidecar/command`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers(tenant, extra) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (path, tenant, extra = {}) => fetch(`${nexus.url}${path}`, { headers: headers(tenant, extra) }),
    stream: (tenant, { lastEventId, query } = {}) =>
      SseClient.connect(
        `${nexus.url}/agent/reports/stream${query ?? ''}`,
        headers(tenant, lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }),
      ),
  };
}
