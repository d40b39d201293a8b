import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RecordedEvent } from '../events/envelope.js';
import { triageActionSchema } from '../events/triage-events.js';
import type { AppendObserver } from '../store/observed-store.js';

/** What the gauges read when Prometheus scrapes. */
export interface MetricSources {
  /** Tasks waiting to run: the dispatcher's queue, or the broker's queue when distributed. */
  readonly queueDepth: () => number | Promise<number>;
  readonly tasksInFlight: () => number;
  readonly sseClients: () => number;
  /** Messages in `DLQ_QUEUE` (distributed only). */
  readonly dlqDepth?: () => Promise<number>;
}

/** Which outcome of a command each event records. */
const outcomes: Record<string, string> = {
  CommandAccepted: 'accepted',
  TaskSucceeded: 'succeeded',
  TaskDeadLettered: 'dead_lettered',
  AskDenied: 'denied',
  AskExpired: 'expired',
};

/**
 * NEXUS's Prometheus metrics. Counters count what this process saw in the log since it
 * started (every replica follows the whole log, so any one of them gives the totals); the
 * gauges read their sources, once the parts they read exist (`readGauges`).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nexus_process_' });
  const commands = new Counter({
    name: 'nexus_commands_total',
    help: 'Commands by type and outcome (accepted, succeeded, dead_lettered, denied, expired)',
    labelNames: ['command_type', 'outcome'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'nexus_task_retries_total',
    help: 'Task retries scheduled',
    labelNames: ['command_type'],
    registers: [registry],
  });
  const triaged = new Counter({
    name: 'nexus_dead_letters_triaged_total',
    help: 'Dead letters triaged, by action',
    labelNames: ['action'],
    registers: [registry],
  });
  // Every series exists from the start, at 0, so rates and alerts work before the first event.
  for (const action of triageActionSchema.options) triaged.inc({ action }, 0);
  const appendSeconds = new Histogram({
    name: 'nexus_append_duration_seconds',
    help: 'Time for an append to the event store to be durable',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    /** Registers the gauges, which read `sources` when Prometheus scrapes. */
    readGauges(sources: MetricSources): void {
      new Gauge({
        name: 'nexus_queue_depth',
        help: 'Tasks waiting to run',
        registers: [registry],
        async collect() {
          this.set(await sources.queueDepth());
        },
      });
      new Gauge({
        name: 'nexus_tasks_in_flight',
        help: 'Tasks being run or handed to the queue',
        registers: [registry],
        collect() {
          this.set(sources.tasksInFlight());
        },
      });
      new Gauge({
        name: 'nexus_sse_clients',
        help: 'Open SSE streams',
        registers: [registry],
        collect() {
          this.set(sources.sseClients());
        },
      });
      const dlqDepth = sources.dlqDepth;
      if (dlqDepth) {
        new Gauge({
          name: 'nexus_dlq_depth',
          help: 'Messages in DLQ_QUEUE awaiting triage',
          registers: [registry],
          async collect() {
            this.set(await dlqDepth());
          },
        });
      }
    },
    /** The catalog's command types, each counted from 0. */
    knowCommandTypes(types: readonly string[]): void {
      for (const command_type of types) {
        for (const outcome of new Set(Object.values(outcomes))) commands.inc({ command_type, outcome }, 0);
        retries.inc({ command_type }, 0);
      }
    },
    /** Counts what the events record. */
    observe(events: readonly RecordedEvent[]): void {
      for (const event of events) {
        if (event.type === 'TaskRetryScheduled') retries.inc({ command_type: event.data.command_type });
        else if (event.type === 'DeadLetterTriaged') triaged.inc({ action: event.data.action });
        else {
          const outcome = outcomes[event.type];
          if (outcome && 'command_type' in event.data) commands.inc({ command_type: event.data.command_type, outcome });
        }
      }
    },
    appendObserver: ((_tenant, _result, durationMs) =>
      appendSeconds.observe(durationMs / 1000)) satisfies AppendObserver,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
