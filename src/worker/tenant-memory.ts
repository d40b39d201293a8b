import { TaskFailure, type TenantMemory } from '../catalog/define-command.js';
import { jsonSize, memoryCapProblem, type Holding, type TenantCaps } from '../commands/tenant-caps.js';
import { handleCommand } from '../commands/handle-command.js';
import { memoryDecider, type MemoryCommand } from '../commands/tenant-controls.js';
import { MEMORY_STREAM } from '../events/tenant-events.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { remember } from '../projections/snapshot.js';

export interface TenantMemoryDeps {
  readonly store: EventStore;
  /** The tenant's memory as its current snapshot holds it. */
  readonly readMemory: (tenant: Tenant) => Promise<Readonly<Record<string, unknown>>>;
  /** What the tenant holds now, and how much it may: a write past a cap fails with MEMORY_FULL. */
  readonly holding: (tenant: Tenant) => Promise<Holding>;
  readonly caps: TenantCaps;
  readonly now: () => Date;
  readonly newEventId: () => string;
}

/** Memory access for one task: writes are events of the tenant's `memory` stream. */
export function tenantMemory(
  deps: TenantMemoryDeps,
  scope: { tenant: Tenant; correlation_id: string; actor: string },
): TenantMemory {
  const write = async (command: Pick<MemoryCommand, 'type' | 'data'>) => {
    const full = {
      ...command,
      metadata: { now: deps.now(), correlation_id: scope.correlation_id, actor: scope.actor },
    } as MemoryCommand;
    // No rule ties one write to another: append at any revision, without reading first.
    await handleCommand(deps.store, memoryDecider, { tenant: scope.tenant, stream: MEMORY_STREAM }, full, {
      newEventId: deps.newEventId,
      known: { state: null, revision: 'any' },
    });
  };
  return {
    get: async (key) => (await deps.readMemory(scope.tenant))[key],
    all: () => deps.readMemory(scope.tenant),
    set: async (key, value) => {
      const problem = memoryCapProblem(await deps.holding(scope.tenant), key, jsonSize(value), deps.caps);
      if (problem !== undefined) throw new TaskFailure('MEMORY_FULL', problem);
      await write({ type: 'SetMemory', data: { key, value } });
    },
    delete: (key) => write({ type: 'DeleteMemory', data: { key } }),
  };
}

/** What a tenant's memory holds, measured from the memory itself (for processes that keep no usage). */
export function holdingOf(memory: Readonly<Record<string, unknown>>): Holding {
  const sizes = new Map(Object.entries(memory).map(([key, value]) => [key, jsonSize(value)]));
  let bytes = 0;
  for (const size of sizes.values()) bytes += size;
  return {
    pendingAsks: 0,
    askBytes: 0,
    memoryKeys: sizes.size,
    memoryBytes: bytes,
    memoryBytesOf: (key) => sizes.get(key) ?? 0,
  };
}

/** A tenant's memory folded from its `memory` stream, for processes that keep no snapshot. */
export async function memoryFromLog(store: EventStore, tenant: Tenant): Promise<Readonly<Record<string, unknown>>> {
  return (await store.readStream(tenant, MEMORY_STREAM)).reduce((memory, event) => remember(memory, event), {});
}
