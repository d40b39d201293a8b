import { Hono, type Context } from 'hono';
import type { EventStore } from '../../store/event-store.js';
import type { AppEnv } from '../app-env.js';
import type { RouteDoc } from '../openapi.js';

export interface HealthDeps {
  readonly store: EventStore;
  readonly mode: 'embedded' | 'distributed';
  /** The other engines this process depends on (RabbitMQ, Redis): `ok` or `down` each. */
  readonly dependencies?: () => Record<string, 'ok' | 'down'>;
  readonly developmentMode: boolean;
  readonly shutdown: AbortSignal;
  /** Gauges of the running parts, e.g. `{ dispatcher: { pending: 3 } }`. */
  readonly gauges: () => Record<string, unknown>;
  readonly startedAt: Date;
  readonly now: () => Date;
  /** Whether the request carries the admin key: only then are the details (store, dependencies, gauges) shown. */
  readonly isAdmin: (c: Context<AppEnv>) => Promise<boolean>;
}

export const healthDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness and readiness (no auth)',
    description:
      '200 when the process is up and its event store answers (`degraded` when RabbitMQ or Redis is away); 503 otherwise or while shutting down. `{"status"}` only, unless the admin key is sent: then also the store, each dependency and the gauges.',
    tags: ['operations'],
    tenant: false,
    responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready' } },
  },
];

export function healthRoutes(deps: HealthDeps) {
  return new Hono<AppEnv>().get('/health', async (c) => {
    const detailed = await deps.isAdmin(c);
    const base = {
      mode: deps.mode,
      auth: deps.developmentMode ? 'development' : 'api-key',
      uptime_seconds: Math.round((deps.now().getTime() - deps.startedAt.getTime()) / 1000),
    };
    const answer = (status: string, details: Record<string, unknown>, code: 200 | 503) =>
      c.json(detailed ? { status, ...base, ...details } : { status }, code);
    if (deps.shutdown.aborted) return answer('shutting_down', {}, 503);
    try {
      const position = await deps.store.headPosition();
      const dependencies = deps.dependencies?.() ?? {};
      // The log is what must answer; without the others NEXUS still accepts and records commands.
      const status = Object.values(dependencies).every((state) => state === 'ok') ? 'ok' : 'degraded';
      const others = Object.fromEntries(Object.entries(dependencies).map(([name, state]) => [name, { status: state }]));
      return answer(status, { store: { status: 'ok', position }, ...others, ...deps.gauges() }, 200);
    } catch (error) {
      return answer('unavailable', { store: { status: 'error', message: (error as Error).message } }, 503);
    }
  });
}
