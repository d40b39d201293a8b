import type { z } from 'zod';
import type { RiskLevel } from '../events/command-events.js';
import type { Tenant } from '../events/tenant.js';
import type { Logger } from '../observability/logger.js';

/** The tenant's key/value memory, as handlers see it (it shows in `snapshot.memory`). */
export interface TenantMemory {
  /** As the snapshot has it: a write of this same task may not show yet. */
  get(key: string): Promise<unknown>;
  all(): Promise<Readonly<Record<string, unknown>>>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

/** What every LLM call answers besides its text or object. */
export interface LlmAnswer {
  readonly provider: string;
  readonly model: string;
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number };
  readonly latency_ms: number;
  /** The providers tried first, when the answer came from a fallback. */
  readonly fell_back_from?: ReadonlyArray<{ provider: string; code: string }>;
}

export interface LlmRequest {
  readonly prompt: string;
  readonly system?: string;
  /** Keys of the tenant's memory put before the prompt. */
  readonly memory_keys?: readonly string[];
  /** The longest answer, and what the daily budget reserves for (default 1024). */
  readonly max_tokens?: number;
}

/**
 * The configured LLMs, through the router (fallback, breakers) and the meter (budget, record
 * of the call). Failures are `TaskFailure`s with the LLM codes (PROVIDER_*, SCHEMA_*,
 * BUDGET_EXCEEDED); without a configured provider, HANDLER_UNAVAILABLE.
 */
export interface LlmAccess {
  complete(request: LlmRequest & { readonly stream?: boolean }): Promise<LlmAnswer & { readonly text: string }>;
  /** An object valid against `schema` (a JSON Schema). */
  extract(
    request: LlmRequest & { readonly schema: Record<string, unknown> },
  ): Promise<LlmAnswer & { readonly object: unknown }>;
}

/** What a handler gets besides its params. */
export interface HandlerContext {
  readonly tenant: Tenant;
  readonly command_type: string;
  readonly correlation_id: string;
  readonly command_id: string;
  readonly task_id: string;
  readonly attempt: number;
  /** Aborted on timeout or shutdown: stop and let the task be retried. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly memory: TenantMemory;
  /**
   * Reports how far the task got (`task_progress` on the stream). Calls closer than 200 ms
   * apart are dropped, except a final 100 %.
   */
  progress(update: { percent?: number; message?: string }): Promise<void>;
  readonly llm: LlmAccess;
}

export type CommandHandler<P> = (params: P, context: HandlerContext) => Promise<unknown> | unknown;

/**
 * One command type: its params schema (checked at the door with 422, and again before the
 * handler runs), its risk level and its handler.
 *
 * @example
 *   export const echoTest = defineCommand({
 *     type: 'echo.test', risk: 'GREEN', description: 'Answers its params',
 *     params: z.record(z.string(), z.unknown()),
 *     handler: (params) => params,
 *   });
 */
export interface CommandDefinition<P = unknown> {
  readonly type: string;
  readonly risk: RiskLevel;
  readonly description: string;
  readonly params: z.ZodType<P, Record<string, unknown>>;
  /** Absent only for types whose executor this build does not ship; their tasks dead-letter. */
  readonly handler?: CommandHandler<P>;
}

export function defineCommand<P>(definition: CommandDefinition<P>): CommandDefinition<P> {
  return definition;
}

/**
 * Thrown by handlers for a failure with a known cause. `retryable` failures are retried with
 * backoff up to MAX_RETRIES; the others dead-letter at once.
 */
export class TaskFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'TaskFailure';
  }
}
