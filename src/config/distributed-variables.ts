import { z } from 'zod';
import { codeList, int, variable, type Variable } from './variable.js';

/** Distributed mode: the shared log, RabbitMQ, Redis, and what happens to failed tasks. */
export const distributedVariables = {
  EVENTSTORE_URL: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^(esdb|kurrentdb|kdb)(\+discover)?:\/\//, 'must be an esdb:// (or kurrentdb://) connection string')
      .optional(),
    'Distributed mode: the event log in EventStoreDB / KurrentDB, e.g. esdb://eventstore:2113?tls=false.',
    '',
    'url',
  ),
  DATABASE_URL: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string')
      .optional(),
    'Distributed mode: the event log in PostgreSQL, e.g. postgres://nexus@127.0.0.1:5432/nexus. Ignored when EVENTSTORE_URL is set.',
    '',
    'url',
  ),
  RABBITMQ_URL: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^amqps?:\/\//, 'must be an amqp:// connection string')
      .optional(),
    'Distributed mode: tasks go to worker processes (npm run worker) through RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672/. Unset: in-process workers.',
    '',
    'url',
  ),
  REDIS_URL: variable(
    'OPTIONAL',
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// connection string')
      .optional(),
    'Distributed mode: new-position fan-out between replicas, task leases, shared rate limits, e.g. redis://127.0.0.1:6379/0.',
    '',
    'url',
  ),
  TASK_QUEUE: variable(
    'OPTIONAL',
    z.string().min(1).default('nexus.tasks'),
    'RabbitMQ queue of tasks to run (durable, quorum).',
    'nexus.tasks',
  ),
  DLQ_QUEUE: variable(
    'OPTIONAL',
    z.string().min(1).default('nexus.dlq'),
    'RabbitMQ queue of dead-lettered tasks (durable, quorum).',
    'nexus.dlq',
  ),
  TASK_TTL_SECONDS: variable(
    'OPTIONAL',
    int(60, 31_536_000, 604_800),
    "Accepted for the original guide's .env; no effect: tasks live in the event log, not in Redis (leases last TASK_LOCK_TTL_SECONDS).",
    '604800',
  ),
  AUTO_REQUEUE_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('PROVIDER_TIMEOUT,PROVIDER_UPSTREAM_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes are requeued (at most AUTO_REQUEUE_MAX times).',
    'PROVIDER_TIMEOUT,PROVIDER_UPSTREAM_ERROR',
  ),
  AUTO_HOLD_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('SCHEMA_PARSE_ERROR,SCHEMA_VALIDATION_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes are held for an admin to requeue or discard (BUDGET_EXCEEDED always is).',
    'SCHEMA_PARSE_ERROR,SCHEMA_VALIDATION_ERROR',
  ),
  AUTO_ALARM_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('PROVIDER_AUTH_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes raise an alarm (and are held).',
    'PROVIDER_AUTH_ERROR',
  ),
  AUTO_REQUEUE_MAX: variable(
    'ADVANCED',
    int(0, 100, 3),
    'How many times triage requeues one task before holding it.',
    '3',
  ),
  TASK_LOCK_TTL_SECONDS: variable(
    'ADVANCED',
    int(1, 86_400, 900),
    "A worker's lease on a task; renewed while it works, so a dead worker's task is free again this long after.",
    '900',
  ),
  WORKER_HEARTBEAT_SECONDS: variable(
    'ADVANCED',
    int(1, 3600, 5),
    'How often a worker process says it is alive; three missed beats and it has left.',
    '5',
  ),
  RABBITMQ_PREFETCH: variable(
    'ADVANCED',
    int(1, 10_000, 32),
    'Unacknowledged tasks a worker process holds at once.',
    '32',
  ),
  RABBITMQ_DELIVERY_LIMIT: variable(
    'ADVANCED',
    int(1, 1_000_000, 20),
    'Deliveries of one task message before RabbitMQ moves it to DLQ_QUEUE, where the supervisor recovers its task from the log. Set when the queues are first declared.',
    '20',
  ),
} satisfies Record<string, Variable>;
