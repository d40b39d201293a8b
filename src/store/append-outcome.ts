import type { Conflict } from './append-checks.js';
import { ConcurrencyError, type AppendResult, type ExpectedRevision } from './event-store.js';

/** An append waiting for its engine's answer. */
export interface Settleable {
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The port's error for an append its engine refused: a last revision of -1 is reported as
 * `no_stream`, a detail is prefixed with the stream.
 *
 * @example
 *   if (outcome.kind === 'conflict') return conflictError(stream, expected, outcome);
 */
export const conflictError = (
  stream: string,
  expected: ExpectedRevision,
  { actual, detail }: Pick<Conflict, 'actual' | 'detail'>,
): ConcurrencyError =>
  new ConcurrencyError(stream, expected, actual === -1 ? 'no_stream' : actual, detail && `stream ${stream}: ${detail}`);

/**
 * Settles each append of a batch with its outcome, in order: an error rejects it.
 *
 * @example
 *   settleEach(batch, batch.map((pending, i) => outcomeOf(pending, results[i])));
 */
export function settleEach(batch: readonly Settleable[], outcomes: readonly (AppendResult | Error)[]): void {
  batch.forEach((pending, i) => {
    const outcome = outcomes[i]!;
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  });
}
