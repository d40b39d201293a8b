import { recordSubmission } from '../usecases/submit-command.js';
import { tenantKey, type Tenant } from '../events/tenant.js';
import { derivedId } from '../shared/ids.js';
import type { Logger } from '../observability/logger.js';
import type { EventStore } from '../store/event-store.js';
import { nextRunAt } from './daily-schedule.js';

export interface DailyIngestOptions {
  readonly store: EventStore;
  readonly tenant: Tenant;
  readonly hour: number;
  readonly minute: number;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly newId: (prefix?: string) => string;
  readonly askTtlSeconds: number;
}

/** Longer delays overflow Node's timers. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Submits `rag.ingest` for one tenant every day at `hour:minute`, like any client would. Its
 * command id is derived from the day, so several replicas (or a restart at that minute)
 * submit it once, and never from anything a client can send as an Idempotency-Key.
 */
export class DailyIngest {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: DailyIngestOptions) {}

  start(): void {
    const { now, hour, minute } = this.options;
    const at = nextRunAt(now(), hour, minute);
    this.timer = setTimeout(
      () => void this.fire(at),
      Math.min(MAX_TIMER_MS, Math.max(0, at.getTime() - now().getTime())),
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Submits the day's ingest (once per day, whoever asks); then arms the next day's. */
  async fire(at: Date): Promise<void> {
    if (this.stopped) return;
    const { store, tenant, logger, newId } = this.options;
    const day = at.toISOString().slice(0, 10);
    // More parts than a client's `derivedId('cmd', tenant, Idempotency-Key)`, whose key cannot hold
    // the NUL that joins parts: no Idempotency-Key can take (or pre-empt) this id.
    const commandId = derivedId('cmd', tenantKey(tenant), 'nexus', 'rag.ingest', day);
    try {
      const submitted = await recordSubmission(
        store,
        tenant,
        {
          type: 'SubmitCommand',
          data: {
            command_id: commandId,
            task_id: derivedId('task', commandId),
            command_type: 'rag.ingest',
            params: {},
            risk_level: 'GREEN',
            description: `Daily ingest of the RAG folder (${day})`,
            ask_ttl_seconds: this.options.askTtlSeconds,
            ask_warning_seconds: 0,
          },
          metadata: { now: this.options.now(), correlation_id: `rag-ingest-${day}`, actor: 'nexus-scheduler' },
        },
        () => newId(),
      );
      logger.info({ command_id: submitted.command_id, duplicate: submitted.duplicate }, 'daily RAG ingest submitted');
    } catch (error) {
      logger.error({ err: error }, 'daily RAG ingest not submitted');
    }
    if (!this.stopped) this.start();
  }
}
