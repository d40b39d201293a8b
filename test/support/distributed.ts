import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import pg from 'pg';
import { waitUntil } from './wait.js';

/** PostgreSQL, RabbitMQ and Redis on this machine (CI starts them); a missing one fails the test. */
export const SERVICES = {
  postgres: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  rabbitmq: process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
};

const suffix = () => randomBytes(4).toString('hex');

/** A database of its own (`<prefix>_<random>`) for one test file or benchmark, dropped by `drop`. */
export async function freshDatabase(prefix = 'nexus_test'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${suffix()}`;
  const admin = new pg.Client({ connectionString: SERVICES.postgres });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(SERVICES.postgres);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: SERVICES.postgres });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Queue names of their own for one test, deleted by `drop`. */
export function freshQueues(): { TASK_QUEUE: string; DLQ_QUEUE: string; drop: () => Promise<void> } {
  const id = suffix();
  const names = { TASK_QUEUE: `nexus.test.${id}.tasks`, DLQ_QUEUE: `nexus.test.${id}.dlq` };
  return {
    ...names,
    drop: async () => {
      const connection = await connect(SERVICES.rabbitmq);
      const channel = await connection.createChannel();
      await channel.deleteQueue(names.TASK_QUEUE);
      await channel.deleteQueue(names.DLQ_QUEUE);
      await connection.close();
    },
  };
}

/** The environment of a supervisor or worker of one distributed test NEXUS. */
export function distributedEnv(
  databaseUrl: string,
  queues: { TASK_QUEUE: string; DLQ_QUEUE: string },
): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: SERVICES.rabbitmq,
    REDIS_URL: SERVICES.redis,
    TASK_QUEUE: queues.TASK_QUEUE,
    DLQ_QUEUE: queues.DLQ_QUEUE,
    WORKER_HEARTBEAT_SECONDS: '1',
    TASK_LOCK_TTL_SECONDS: '5',
    RETRY_BASE_DELAY_MS: '50',
    RETRY_MAX_DELAY_MS: '200',
  };
}

const run = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: 'pipe', timeout: 120_000 }).toString();

/** `rabbitmqctl stop_app`: the broker process stays, AMQP goes away. */
export function stopRabbit(): void {
  run('rabbitmqctl', ['stop_app']);
}

export async function startRabbit(): Promise<void> {
  run('rabbitmqctl', ['start_app']);
  await waitUntil(
    async () =>
      await connect(SERVICES.rabbitmq).then(
        (c) => c.close().then(() => true),
        () => false,
      ),
    {
      timeoutMs: 60_000,
      what: 'RabbitMQ to accept connections',
    },
  );
}

/** Stops Redis (it keeps nothing on disk here) and starts it again as the machine does. */
export async function restartRedis(): Promise<void> {
  try {
    run('redis-cli', ['-h', '127.0.0.1', 'shutdown', 'nosave']);
  } catch {
    // redis-cli reports the connection it lost as an error: that is the shutdown
  }
  run('redis-server', [
    '--daemonize',
    'yes',
    '--bind',
    '127.0.0.1',
    '-::1',
    '--port',
    '6379',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    '/var/lib/redis',
    '--logfile',
    '/var/log/redis/ci.log',
  ]);
  await waitUntil(
    () => {
      try {
        return run('redis-cli', ['-h', '127.0.0.1', 'ping']).trim() === 'PONG';
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, what: 'Redis to answer' },
  );
}
