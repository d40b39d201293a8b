import { writeFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { appendEvents } from '../../commands/append-events.js';
import type { Logger } from '../../observability/logger.js';
import { EXECUTORS_TENANT, workerStream, type ExecutorEvent } from '../../events/executor-events.js';
import type { EventStore, ExpectedRevision } from '../../store/event-store.js';
import { sleep } from '../../shared/sleep.js';
import { redisKeys } from './keys.js';

export interface WorkerInfo {
  readonly worker_id: string;
  readonly capabilities: readonly string[];
  readonly started_at: string;
  readonly pid: number;
  readonly host: string;
}

/**
 * A worker's heartbeat in Redis: a key that expires three beats after the last one, so other
 * workers can tell a dead holder's leases from a live one's. Each beat also touches
 * `heartbeatFile`, which the container health check reads.
 */
export class WorkerPresence {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly info: WorkerInfo,
    private readonly beatMs: number,
    private readonly logger: Logger,
    private readonly heartbeatFile?: string,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.beatMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(redisKeys.workerAlive(this.info.worker_id)).catch(() => undefined);
    await this.redis.hdel(redisKeys.workers, this.info.worker_id).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      // Registered again on every beat: a Redis that restarted empty learns of us at once.
      await this.redis
        .multi()
        .hset(redisKeys.workers, this.info.worker_id, JSON.stringify(this.info))
        .set(redisKeys.workerAlive(this.info.worker_id), Date.now(), 'PX', this.beatMs * 3)
        .exec();
      if (this.heartbeatFile) await writeFile(this.heartbeatFile, new Date().toISOString());
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat not recorded');
    }
  }
}

/**
 * Whether a worker is presumed dead: its heartbeat key is absent now and still absent a beat
 * and a half later (a Redis that just restarted has lost every key until the next beats).
 */
export async function presumedDead(
  redis: Redis,
  workerId: string,
  beatMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const key = redisKeys.workerAlive(workerId);
  if ((await redis.exists(key)) === 1) return false;
  await sleep(beatMs * 1.5, signal);
  if (signal.aborted) return false;
  return (await redis.exists(key)) === 0;
}

/** The workers registered in Redis, with their last heartbeat (absent once they stopped beating). */
export async function knownWorkers(redis: Redis): Promise<Array<WorkerInfo & { last_beat_at?: number }>> {
  const all = await redis.hgetall(redisKeys.workers);
  const infos = Object.values(all).map((json) => JSON.parse(json) as WorkerInfo);
  if (infos.length === 0) return [];
  const beats = await redis.mget(infos.map((info) => redisKeys.workerAlive(info.worker_id)));
  return infos.map((info, index) => (beats[index] ? { ...info, last_beat_at: Number(beats[index]) } : info));
}

/** Forgets a worker that left. */
export const forgetWorker = (redis: Redis, workerId: string) => redis.hdel(redisKeys.workers, workerId);

/** Records a worker's arrival or departure in the executors' log. */
export async function recordWorker(
  store: EventStore,
  event: ExecutorEvent,
  expected: ExpectedRevision,
  stamp: { now: Date; newEventId: () => string },
): Promise<void> {
  const worker_id = event.data.worker_id;
  const metadata = { correlation_id: worker_id, actor: worker_id, now: stamp.now };
  await appendEvents(
    store,
    { tenant: EXECUTORS_TENANT, stream: workerStream(worker_id) },
    [{ events: [event], metadata }],
    expected,
    stamp.newEventId,
  );
}
