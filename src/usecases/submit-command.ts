import type { Catalog } from '../catalog/catalog.js';
import type { RiskPolicy } from '../catalog/risk-policy.js';
import { commandLifeDecider, type SubmitCommand } from '../commands/command-life.js';
import { InvalidParamsError, TenantCapReachedError } from '../commands/errors.js';
import { handleCommand } from '../commands/handle-command.js';
import { readCommandLife } from '../commands/read-command-life.js';
import { commandCapProblem, type Holding, type TenantCaps } from '../commands/tenant-caps.js';
import { commandStream, type RiskLevel } from '../events/command-events.js';
import { tenantKey, type Tenant } from '../events/tenant.js';
import { derivedId, payloadHash } from '../shared/ids.js';
import type { EventStore } from '../store/event-store.js';
import type { UseCaseDeps } from './use-case.js';

export interface SubmitDeps extends UseCaseDeps {
  readonly catalog: Catalog;
  /** The command type's risk level in a tenant (the catalog's, raised by overrides). */
  readonly riskOf: RiskPolicy;
  /** What the tenant holds now (waiting asks, memory), and how much it may. */
  readonly usage: (tenant: Tenant) => Holding;
  readonly caps: TenantCaps;
  readonly askTtlSeconds: number;
  readonly askWarningSeconds: number;
}

export interface SubmitRequest {
  readonly tenant: Tenant;
  readonly command_type: string;
  readonly params: unknown;
  readonly description?: string;
  readonly correlation_id: string;
  /** The principal submitting. */
  readonly actor: string;
  /** Replays with the same key land on the same command; `request_hash` tells a replay from a reuse. */
  readonly idempotency?: { readonly key: string; readonly request_hash: string };
}

export interface Submitted {
  readonly command_id: string;
  readonly task_id: string;
  readonly correlation_id: string;
  readonly risk_level: RiskLevel;
  readonly ask_id?: string;
  /** True when an idempotency key's replay found the command already recorded. */
  readonly duplicate: boolean;
  /** Position of the command's first event. */
  readonly position: number;
}

/**
 * Submits a command as a client asks for it: a type of the catalog, params that match its
 * schema, at the tenant's risk level for it, within the tenant's caps.
 *
 * @example
 *   const submitted = await submitCommand(deps, { tenant, command_type: 'echo.test', params: {}, correlation_id, actor });
 */
export async function submitCommand(deps: SubmitDeps, request: SubmitRequest): Promise<Submitted> {
  const { tenant, idempotency } = request;
  const definition = deps.catalog.get(request.command_type);
  const parsed = definition.params.safeParse(request.params);
  if (!parsed.success) {
    throw new InvalidParamsError(
      definition.type,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  const params = parsed.data as Record<string, unknown>;
  const risk = deps.riskOf(tenant, definition.type);
  const overCap = commandCapProblem(
    { command_type: definition.type, risk_level: risk, params },
    deps.usage(tenant),
    deps.caps,
  );
  if (overCap !== undefined) throw new TenantCapReachedError(overCap);
  const commandId =
    idempotency === undefined ? deps.newId('cmd') : derivedId('cmd', tenantKey(tenant), idempotency.key);
  return recordSubmission(
    deps.store,
    tenant,
    {
      type: 'SubmitCommand',
      data: {
        command_id: commandId,
        task_id: deps.newId('task'),
        command_type: definition.type,
        params,
        risk_level: risk,
        description: request.description ?? definition.description,
        ask_ttl_seconds: deps.askTtlSeconds,
        ask_warning_seconds: deps.askWarningSeconds,
        ...(risk === 'RED' ? { payload_hash: payloadHash(definition.type, params) } : {}),
        idempotency_key: idempotency?.key,
        request_hash: idempotency?.request_hash,
      },
      metadata: { now: deps.now(), correlation_id: request.correlation_id, actor: request.actor },
    },
    () => deps.newId(),
  );
}

/**
 * Records a command NEXUS decided to submit itself (its id, task id and risk chosen):
 * `CommandAccepted` and then `TaskQueued` or `AskCreated`, in one durable append. A command id
 * already recorded is a replay, which changes nothing.
 */
export async function recordSubmission(
  store: EventStore,
  tenant: Tenant,
  command: SubmitCommand,
  newEventId: () => string,
): Promise<Submitted> {
  const target = { tenant, stream: commandStream(command.data.command_id) };
  // A new stream is the common case: try it without reading first.
  const handled = await handleCommand(store, commandLifeDecider, target, command, {
    newEventId,
    known: { state: commandLifeDecider.initialState(), revision: 'no_stream' },
  });
  const duplicate = handled.events.length === 0;
  const events = duplicate ? (await readCommandLife(store, tenant, command.data.command_id)).events : handled.events;
  let accepted, ask;
  for (const event of events) {
    if (event.type === 'CommandAccepted') accepted = event;
    else if (event.type === 'AskCreated') ask ??= event;
  }
  if (accepted === undefined)
    throw new Error(`command ${command.data.command_id} was recorded without CommandAccepted`);
  return {
    command_id: accepted.data.command_id,
    task_id: accepted.data.task_id,
    correlation_id: accepted.metadata.correlation_id,
    risk_level: accepted.data.risk_level,
    ...(ask === undefined ? {} : { ask_id: ask.data.ask_id }),
    duplicate,
    position: accepted.position,
  };
}
