import type { Redis } from 'ioredis';
import type { Logger } from '../../observability/logger.js';

// Keep the key if it is ours, take it if nobody holds it; answer whether we hold it now.
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Which supervisor replica dispatches: the holder of a Redis key that lasts `ttlMs` and is
 * claimed again every third of it. The others follow the log all the same, ready to take
 * over when the leader stops renewing. Two leaders for a moment (a paused process) only
 * publish a task twice, which the workers' leases and the log make harmless.
 */
export class Leadership {
  private timer: NodeJS.Timeout | undefined;
  private heldUntil = 0;
  private claiming: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly gainedListeners: Array<() => void> = [];

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly holder: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /** Called each time this holder becomes the leader (after `start`, which may already have made it one). */
  onGained(listener: () => void): void {
    this.gainedListeners.push(listener);
  }

  get isLeader(): boolean {
    return Date.now() < this.heldUntil;
  }

  async start(): Promise<void> {
    await (this.claiming = this.claim());
    this.timer = setInterval(() => void (this.claiming = this.claim()), this.ttlMs / 3);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.claiming;
    this.heldUntil = 0;
    await this.redis.eval(RESIGN, 1, this.key, this.holder).catch(() => undefined);
  }

  private async claim(): Promise<void> {
    if (this.stopped) return;
    const before = this.isLeader;
    const asked = Date.now();
    try {
      const held = (await this.redis.eval(CLAIM, 1, this.key, this.holder, this.ttlMs)) === 1;
      this.heldUntil = held ? asked + this.ttlMs : 0;
    } catch {
      // Redis away: keep what we had until it runs out
    }
    if (!before && this.isLeader) {
      this.logger.info({ holder: this.holder }, 'this replica dispatches now');
      for (const listener of this.gainedListeners) listener();
    } else if (before && !this.isLeader) this.logger.info({ holder: this.holder }, 'another replica dispatches now');
  }
}
