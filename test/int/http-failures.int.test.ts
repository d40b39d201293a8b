import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executorSettings, outboxLimits } from '../../src/catalog/executors.js';
import { builtInCatalog } from '../../src/catalog/built-in.js';
import { riskPolicy } from '../../src/catalog/risk-policy.js';
import { ShareStore } from '../../src/shares/share-store.js';
import { loadConfig } from '../../src/config/load-config.js';
import { FeedHub } from '../../src/fanout/feed-hub.js';
import { createApp } from '../../src/http/app.js';
import { reportFrame } from '../../src/http/sse/sse-frames.js';
import { newId } from '../../src/shared/ids.js';
import { createLogger } from '../../src/observability/logger.js';
import { TenantUsage } from '../../src/dispatch/tenant-usage.js';
import { snapshotProjection } from '../../src/projections/snapshot.js';
import { openSqliteEventStore } from '../../src/store/sqlite/sqlite-event-store.js';
import { API_KEY, startTestNexus } from '../support/nexus.js';

describe('when the event store is unavailable', () => {
  it('answers 503 store_unavailable, and /health says so', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-down-'));
    const config = loadConfig({ NEXUS_API_KEY: API_KEY, NEXUS_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const store = await openSqliteEventStore({ path: join(dataDir, 'nexus.db') });
    const projection = snapshotProjection({ worklogKeep: 10 });
    const hub = await FeedHub.start({ store, projection, render: reportFrame, keep: 100 });
    const shares = new ShareStore(config.NEXUS_OUTBOX_DIR, { secret: 'a'.repeat(64), limits: outboxLimits(config) });
    const catalog = builtInCatalog({
      store,
      workspaceDir: config.NEXUS_WORKSPACE_DIR,
      outboxDir: config.NEXUS_OUTBOX_DIR,
      shares,
      publicUrl: () => 'http://localhost',
      now: () => new Date(),
      ...executorSettings(config),
    });
    const app = createApp({
      config,
      mode: 'embedded',
      store,
      catalog,
      riskOf: riskPolicy(catalog, [], false),
      shares,
      hub,
      projection,
      logger: createLogger({ level: 'silent' }),
      now: () => new Date(),
      newId,
      shutdown: new AbortController().signal,
      gauges: () => ({}),
      usage: () => new TenantUsage().of({ org_id: 'down', project_id: 'p' }),
      publicUrl: () => 'http://localhost',
      startedAt: new Date(),
      sessionSecret: 'a-session-secret-for-this-test-only',
    });
    await hub.close();
    await store.close();

    const headers = {
      'x-api-key': API_KEY,
      'x-org-id': 'down',
      'x-project-id': 'p',
      'content-type': 'application/json',
    };
    const submitted = await app.request('/sidecar/command', {
      method: 'POST',
      headers,
      body: JSON.stringify({ command_type: 'echo.test', params: {} }),
    });
    expect(submitted.status).toBe(503);
    expect(await submitted.json()).toMatchObject({ error: { code: 'store_unavailable' } });
    const reports = await app.request('/agent/reports', { headers });
    expect(reports.status).toBe(503);
    const health = await app.request('/health');
    expect(health.status).toBe(503);
    // No key, no details: the store's own error stays inside.
    expect(await health.json()).toEqual({ status: 'unavailable' });
  });
});

describe('development mode', () => {
  it('answers only requests addressed to a loopback name (403 for another Host)', async () => {
    const nexus = await startTestNexus({ NEXUS_API_KEY: '', ADMIN_API_KEY: '' });
    const get = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${nexus.url}/agent/snapshot`,
          { headers: { host, 'x-org-id': 'dev', 'x-project-id': 'p' } },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      expect((await get('localhost:8000')).status).toBe(200);
      expect((await get('127.0.0.1:8000')).status).toBe(200);
      expect((await get('[::1]:8000')).status).toBe(200);
      const rebound = await get('attacker.example:8000');
      expect(rebound.status).toBe(403);
      expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'forbidden_host' } });
    } finally {
      await nexus.stop();
    }
  });
});
