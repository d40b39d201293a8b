import type { RecordedEvent } from '../events/envelope.js';

/** A worker process as the log knows it. */
export interface KnownExecutor {
  readonly worker_id: string;
  readonly capabilities: readonly string[];
  readonly host: string;
  readonly status: 'active' | 'left';
  readonly joined_at: string;
  readonly left_at?: string;
  readonly left_because?: 'shutdown' | 'lost';
}

export type Executors = ReadonlyMap<string, KnownExecutor>;

/** Folds `WorkerJoined` / `WorkerLeft`; other events change nothing. */
export function evolveExecutors(executors: Executors, event: RecordedEvent): Executors {
  if (event.type !== 'WorkerJoined' && event.type !== 'WorkerLeft') return executors;
  const next = new Map(executors);
  if (event.type === 'WorkerJoined') {
    const { worker_id, capabilities, host } = event.data;
    next.set(worker_id, { worker_id, capabilities, host, status: 'active', joined_at: event.metadata.occurred_at });
  } else {
    const known = executors.get(event.data.worker_id);
    if (known)
      next.set(known.worker_id, {
        ...known,
        status: 'left',
        left_at: event.metadata.occurred_at,
        left_because: event.data.reason,
      });
  }
  return next;
}
