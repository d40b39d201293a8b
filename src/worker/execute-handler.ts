import { UnknownCommandTypeError, type Catalog } from '../catalog/catalog.js';
import { TaskFailure, type CommandHandler, type HandlerContext } from '../catalog/define-command.js';
import type { Failure } from '../events/command-events.js';
import { nestsDeeperThan } from '../shared/json-limits.js';

export type Execution =
  | { readonly ok: true; readonly result: unknown; readonly duration_ms: number }
  | { readonly ok: false; readonly error: Failure; readonly retryable: boolean; readonly duration_ms: number };

/** Results are recorded in the log: keep them to what a report can carry. */
const MAX_RESULT_BYTES = 1024 * 1024;
const MAX_RESULT_DEPTH = 64;

function failure(error: unknown): { error: Failure; retryable: boolean } {
  if (error instanceof TaskFailure)
    return { error: { code: error.code, message: error.message }, retryable: error.retryable };
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: 'HANDLER_ERROR', message }, retryable: true };
}

function deadline(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export interface RunningHandler {
  /** Settles at the handler's answer, or at its timeout, cancellation or shutdown. */
  readonly done: Promise<Execution>;
  /** Settles when the handler's own code has stopped (later than `done` if it ignored the abort). */
  readonly settled: Promise<void>;
  /** Aborts the handler's signal; `done` then settles as that failure. */
  cancel(reason: TaskFailure): void;
}

/**
 * What a command would run: its type's handler and its params as that type's schema parses
 * them now (the payload an approval is checked against), or why it cannot run.
 */
export type Prepared =
  | { readonly ok: true; readonly handler: CommandHandler<unknown>; readonly params: unknown }
  | { readonly ok: false; readonly failure: TaskFailure };

export function prepareRun(
  catalog: Catalog,
  command: { command_type: string; params: Record<string, unknown> },
): Prepared {
  try {
    const definition = catalog.get(command.command_type);
    const { handler } = definition;
    if (!handler)
      throw new TaskFailure('HANDLER_UNAVAILABLE', `this NEXUS has no executor for ${command.command_type}`);
    const params = definition.params.safeParse(command.params);
    if (!params.success)
      throw new TaskFailure(
        'INVALID_PARAMS',
        params.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    return { ok: true, handler, params: params.data };
  } catch (error) {
    if (error instanceof TaskFailure) return { ok: false, failure: error };
    if (error instanceof UnknownCommandTypeError)
      return { ok: false, failure: new TaskFailure('UNKNOWN_COMMAND_TYPE', error.message) };
    throw error;
  }
}

/**
 * Runs a prepared handler under a timeout and the shutdown signal, and turns whatever happens
 * into a result or a classified failure.
 */
export function executeHandler(
  prepared: Prepared,
  context: (signal: AbortSignal) => HandlerContext,
  options: { timeoutMs: number; shutdown: AbortSignal; now: () => number },
): RunningHandler {
  const controller = new AbortController();
  const stopped: { settled: Promise<void> } = { settled: Promise.resolve() };
  const done = execute(prepared, context, options, controller, stopped);
  return { done, settled: done.then(() => stopped.settled), cancel: (reason) => controller.abort(reason) };
}

async function execute(
  prepared: Prepared,
  context: (signal: AbortSignal) => HandlerContext,
  options: { timeoutMs: number; shutdown: AbortSignal; now: () => number },
  controller: AbortController,
  stopped: { settled: Promise<void> },
): Promise<Execution> {
  const startedAt = options.now();
  const elapsed = () => Math.max(0, options.now() - startedAt);
  const timer = setTimeout(
    () => controller.abort(new TaskFailure('TASK_TIMEOUT', `no result within ${options.timeoutMs} ms`, true)),
    options.timeoutMs,
  );
  const onShutdown = () => controller.abort(new TaskFailure('SHUTDOWN', 'NEXUS stopped while the task ran', true));
  options.shutdown.addEventListener('abort', onShutdown, { once: true });
  try {
    if (!prepared.ok) throw prepared.failure;
    const { handler, params } = prepared;
    const pending = Promise.resolve().then(() => handler(params, context(controller.signal)));
    stopped.settled = pending.then(
      () => undefined,
      () => undefined,
    );
    const result = (await Promise.race([pending, deadline(controller.signal)])) ?? null;
    if (nestsDeeperThan(result, MAX_RESULT_DEPTH))
      throw new TaskFailure('RESULT_TOO_DEEP', `the result nests deeper than ${MAX_RESULT_DEPTH} levels`);
    if (Buffer.byteLength(JSON.stringify(result)) > MAX_RESULT_BYTES) {
      throw new TaskFailure('RESULT_TOO_LARGE', `the result is larger than ${MAX_RESULT_BYTES} bytes`);
    }
    return { ok: true, result, duration_ms: elapsed() };
  } catch (error) {
    const { error: cause, retryable } = failure(error);
    return { ok: false, error: cause, retryable, duration_ms: elapsed() };
  } finally {
    clearTimeout(timer);
    options.shutdown.removeEventListener('abort', onShutdown);
  }
}
