import type { Holding } from '../commands/tenant-caps.js';
import type { RecordedEvent } from '../events/envelope.js';
import { tenantKey, type Tenant } from '../events/tenant.js';

interface Held {
  readonly asks: Map<string, number>;
  readonly memory: Map<string, number>;
  askBytes: number;
  memoryBytes: number;
}

const sizeOf = (value: unknown): number => JSON.stringify(value)?.length ?? 0;

const NOTHING: Holding = { pendingAsks: 0, askBytes: 0, memoryKeys: 0, memoryBytes: 0, memoryBytesOf: () => 0 };

/**
 * Each tenant's waiting asks and memory, in entries and bytes, followed from the log (the
 * dispatcher feeds it every event), so the door can refuse what would take a tenant past its
 * caps without reading anything. Only sizes are kept, never the payloads.
 *
 * @example
 *   usage.apply(event); usage.of(tenant).pendingAsks;
 */
export class TenantUsage {
  private readonly tenants = new Map<string, Held>();

  apply(recorded: RecordedEvent): void {
    const event = recorded;
    switch (event.type) {
      case 'AskCreated':
        return this.set(event.tenant, 'asks', event.data.ask_id, sizeOf(event.data.params));
      case 'AskApproved':
      case 'AskDenied':
      case 'AskExpired':
        return this.set(event.tenant, 'asks', event.data.ask_id, undefined);
      case 'MemorySet':
        return this.set(event.tenant, 'memory', event.data.key, sizeOf(event.data.value));
      case 'MemoryDeleted':
        return this.set(event.tenant, 'memory', event.data.key, undefined);
      default:
        return;
    }
  }

  of(tenant: Tenant): Holding {
    const held = this.tenants.get(tenantKey(tenant));
    if (!held) return NOTHING;
    return {
      pendingAsks: held.asks.size,
      askBytes: held.askBytes,
      memoryKeys: held.memory.size,
      memoryBytes: held.memoryBytes,
      memoryBytesOf: (key) => held.memory.get(key) ?? 0,
    };
  }

  private set(tenant: Tenant, what: 'asks' | 'memory', id: string, size: number | undefined): void {
    const key = tenantKey(tenant);
    let held = this.tenants.get(key);
    if (!held) {
      if (size === undefined) return;
      this.tenants.set(key, (held = { asks: new Map(), memory: new Map(), askBytes: 0, memoryBytes: 0 }));
    }
    const total = what === 'asks' ? 'askBytes' : 'memoryBytes';
    held[total] -= held[what].get(id) ?? 0;
    if (size === undefined) held[what].delete(id);
    else {
      held[what].set(id, size);
      held[total] += size;
    }
    if (held.asks.size === 0 && held.memory.size === 0) this.tenants.delete(key);
  }
}
