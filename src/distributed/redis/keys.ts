import { tenantKey, type Tenant } from '../../events/tenant.js';

// Every Redis key and channel NEXUS uses, in one place. Keys about a tenant carry it.

const PREFIX = 'nexus';

export const redisKeys = {
  /** A worker's lease on one command's task. */
  lease: (tenant: Tenant, commandId: string) => `${PREFIX}:${tenantKey(tenant)}:lease:${commandId}`,
  /** Exists while the worker is alive (expires three heartbeats after its last). */
  workerAlive: (workerId: string) => `${PREFIX}:worker:${workerId}:alive`,
  /** What the worker said about itself when it joined. */
  workers: `${PREFIX}:workers`,
  /** Held by the supervisor replica that dispatches to this task queue. */
  dispatchLeader: (taskQueue: string) => `${PREFIX}:dispatch-leader:${taskQueue}`,
  /** A tenant's request budget. */
  rateLimit: (tenant: Tenant) => `${PREFIX}:${tenantKey(tenant)}:rate`,
  /** New positions of a tenant's feed are published here. */
  positions: (tenant: Tenant) => `${PREFIX}:${tenantKey(tenant)}:positions`,
  /** The pattern every tenant's positions channel matches. */
  allPositions: `${PREFIX}:*:positions`,
} as const;
