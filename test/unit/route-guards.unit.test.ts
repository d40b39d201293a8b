import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSpec, type ApiSpec } from '../support/api-spec.js';

/** Every route anyone may reach without a key. Anything else answers 401 without one. */
const PUBLIC = [
  'GET /',
  'GET /dashboard',
  'GET /dashboard/app.css',
  'GET /dashboard/app.js',
  'GET /health',
  'GET /openapi.json',
  'GET /shares/:token',
  'GET /shares/:token/files/:name',
  'DELETE /session',
];

let api: ApiSpec;
beforeAll(async () => {
  api = await apiSpec();
});
afterAll(() => api.close());

/** Every route the app answers, as `METHOD /path`; middleware is registered for every method. */
const endpoints = () =>
  [
    ...new Set(
      api.app.routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${route.path}`),
    ),
  ].sort();

describe('routes are guarded by where they are mounted', () => {
  it('finds the routes, and every public one is among them', () => {
    expect(endpoints().length).toBeGreaterThan(20);
    expect(PUBLIC.filter((route) => !endpoints().includes(route))).toEqual([]);
  });

  it('answers 401 without a key on every route that is not public', async () => {
    const reachable: string[] = [];
    for (const endpoint of endpoints()) {
      if (PUBLIC.includes(endpoint)) continue;
      const [method, path] = endpoint.split(' ') as [string, string];
      const { status } = await api.when({
        method,
        path: path.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x'),
        key: null,
        tenant: { org_id: 'acme', project_id: 'web' },
      });
      if (status !== 401) reachable.push(`${endpoint} → ${status}`);
    }
    expect(reachable).toEqual([]);
  });

  it('serves the public routes without a key', async () => {
    for (const endpoint of PUBLIC) {
      const [method, path] = endpoint.split(' ') as [string, string];
      const { status } = await api.when({ method, path: path.replace(/:[^/]+/g, 'x'), key: null });
      expect({ endpoint, unauthorized: status === 401 }).toEqual({ endpoint, unauthorized: false });
    }
  });

  it('still tells a route that does not exist (404) or a method a route does not answer (405), without a key', async () => {
    expect((await api.when({ path: '/nowhere', key: null })).status).toBe(404);
    expect((await api.when({ method: 'DELETE', path: '/sidecar/command', key: null })).status).toBe(405);
  });
});
