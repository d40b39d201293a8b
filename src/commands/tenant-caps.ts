/** How much one tenant may hold (TENANT_MAX_*). */
export interface TenantCaps {
  readonly pendingAsks: number;
  readonly askBytes: number;
  readonly memoryKeys: number;
  readonly memoryBytes: number;
}

/** What a tenant holds now, as far as its caps go. */
export interface Holding {
  readonly pendingAsks: number;
  readonly askBytes: number;
  readonly memoryKeys: number;
  readonly memoryBytes: number;
  memoryBytesOf(key: string): number;
}

/** Why another ask of `paramsBytes` would take the tenant past its caps, or undefined. */
export function askCapProblem(holding: Holding, paramsBytes: number, caps: TenantCaps): string | undefined {
  if (holding.pendingAsks >= caps.pendingAsks)
    return `this tenant has ${holding.pendingAsks} asks waiting for a decision, its most (TENANT_MAX_PENDING_ASKS)`;
  if (holding.askBytes + paramsBytes > caps.askBytes)
    return `this tenant's waiting asks would hold more than ${caps.askBytes} bytes of params (TENANT_MAX_ASK_BYTES)`;
  return undefined;
}

/** Why setting `key` to a value of `valueBytes` would take the tenant's memory past its caps, or undefined. */
export function memoryCapProblem(
  holding: Holding,
  key: string,
  valueBytes: number,
  caps: TenantCaps,
): string | undefined {
  const before = holding.memoryBytesOf(key);
  if (before === 0 && holding.memoryKeys >= caps.memoryKeys)
    return `this tenant's memory holds ${holding.memoryKeys} keys, its most (TENANT_MAX_MEMORY_KEYS)`;
  if (holding.memoryBytes - before + valueBytes > caps.memoryBytes)
    return `this tenant's memory would take more than ${caps.memoryBytes} bytes (TENANT_MAX_MEMORY_BYTES)`;
  return undefined;
}

/** JSON's length of a value: what the log stores of it. */
export const jsonSize = (value: unknown): number => JSON.stringify(value)?.length ?? 0;

/**
 * Why a new command would take its tenant past a cap, or undefined: a RED one adds an ask, a
 * `memory.set` a value.
 */
export function commandCapProblem(
  command: { readonly command_type: string; readonly risk_level: string; readonly params: Record<string, unknown> },
  holding: Holding,
  caps: TenantCaps,
): string | undefined {
  if (command.risk_level === 'RED') return askCapProblem(holding, jsonSize(command.params), caps);
  if (command.command_type === 'memory.set' && typeof command.params.key === 'string') {
    return memoryCapProblem(holding, command.params.key, jsonSize(command.params.value), caps);
  }
  return undefined;
}
