import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { UnknownCommandTypeError } from '../catalog/catalog.js';
import {
  AskAlreadyDecidedError,
  AskNotFoundError,
  CommandNotFoundError,
  TaskNotHeldError,
  IdempotencyKeyReusedError,
  InvalidParamsError,
  PayloadMismatchError,
  SelfApprovalError,
  TenantCapReachedError,
} from '../commands/errors.js';
import { StoreUnavailableError, UnstorableEventError } from '../store/event-store.js';
import { NotCaughtUpError } from '../fanout/feed-hub.js';
import type { Logger } from '../observability/logger.js';

/** A request refused at the door. Only `src/http` knows about statuses. */
export class RequestError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export const errorBody = (code: string, message: string, details?: unknown): ErrorBody => ({
  error: { code, message, ...(details === undefined ? {} : { details }) },
});

/** Domain and adapter errors → HTTP, in one place. */
function classify(error: unknown): RequestError | undefined {
  if (error instanceof RequestError) return error;
  if (error instanceof UnknownCommandTypeError) return new RequestError(422, 'unknown_command_type', error.message);
  if (error instanceof InvalidParamsError) return new RequestError(422, 'invalid_params', error.message, error.issues);
  if (error instanceof TenantCapReachedError)
    return new RequestError(429, 'tenant_cap_reached', error.message, { retry_after_seconds: 60 });
  if (error instanceof IdempotencyKeyReusedError) return new RequestError(422, 'idempotency_key_reused', error.message);
  if (error instanceof AskNotFoundError) return new RequestError(404, 'ask_not_found', error.message);
  if (error instanceof AskAlreadyDecidedError) return new RequestError(409, `ask_${error.outcome}`, error.message);
  if (error instanceof PayloadMismatchError) return new RequestError(409, 'payload_mismatch', error.message);
  if (error instanceof SelfApprovalError) return new RequestError(403, 'self_approval', error.message);
  if (error instanceof TaskNotHeldError) return new RequestError(409, 'task_not_held', error.message);
  if (error instanceof CommandNotFoundError) return new RequestError(404, 'command_not_found', error.message);
  if (error instanceof NotCaughtUpError)
    return new RequestError(503, 'catching_up', error.message, { retry_after_seconds: 1 });
  if (error instanceof UnstorableEventError)
    return new RequestError(422, 'unstorable', 'the request holds data the event log cannot store');
  if (error instanceof StoreUnavailableError)
    return new RequestError(503, 'store_unavailable', 'the event store is unavailable; retry later');
  if (error instanceof HTTPException)
    return new RequestError(error.status as ContentfulStatusCode, 'http_error', error.message);
  return undefined;
}

export function errorHandler(logger: Logger) {
  return function onError(error: Error, c: Context): Response {
    const known = classify(error);
    if (known) {
      if (known.status === 429 || known.status === 503)
        c.header('retry-after', String((known.details as { retry_after_seconds?: number })?.retry_after_seconds ?? 1));
      return c.json(errorBody(known.code, known.message, known.details), known.status);
    }
    logger.error({ err: error, correlation_id: c.get('correlation_id') as string | undefined }, 'request failed');
    return c.json(errorBody('internal_error', 'NEXUS could not handle this request'), 500);
  };
}
