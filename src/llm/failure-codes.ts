import {
  APICallError,
  InvalidResponseDataError,
  JSONParseError,
  NoObjectGeneratedError,
  TypeValidationError,
} from 'ai';

/** What went wrong with an LLM call, as the codes that drive retries, fallback and triage. */
export type LlmFailureCode =
  | 'PROVIDER_TIMEOUT'
  | 'PROVIDER_UPSTREAM_ERROR'
  | 'PROVIDER_AUTH_ERROR'
  | 'PROVIDER_RATE_LIMITED'
  | 'SCHEMA_PARSE_ERROR'
  | 'SCHEMA_VALIDATION_ERROR';

/** Failures of the provider (worth another provider, counted by its breaker) rather than of the answer. */
export const isProviderFailure = (code: LlmFailureCode): boolean => code.startsWith('PROVIDER_');

/** Worth another attempt of the task later. */
export const isRetryable = (code: LlmFailureCode): boolean =>
  code !== 'PROVIDER_AUTH_ERROR' && !code.startsWith('SCHEMA_');

/** Classifies an error of the AI SDK; `timedOut` says whether our own deadline fired. */
export function classify(error: unknown, timedOut: boolean): LlmFailureCode {
  if (timedOut) return 'PROVIDER_TIMEOUT';
  if (NoObjectGeneratedError.isInstance(error)) {
    return TypeValidationError.isInstance(error.cause) ? 'SCHEMA_VALIDATION_ERROR' : 'SCHEMA_PARSE_ERROR';
  }
  if (TypeValidationError.isInstance(error)) return 'SCHEMA_VALIDATION_ERROR';
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === 401 || status === 403) return 'PROVIDER_AUTH_ERROR';
    if (status === 429) return 'PROVIDER_RATE_LIMITED';
    if (status === 408) return 'PROVIDER_TIMEOUT';
    return 'PROVIDER_UPSTREAM_ERROR';
  }
  // A provider answering 200 with a body that is not its API's JSON.
  if (JSONParseError.isInstance(error) || InvalidResponseDataError.isInstance(error)) return 'PROVIDER_UPSTREAM_ERROR';
  return 'PROVIDER_UPSTREAM_ERROR';
}
