import { connect, type ChannelModel } from 'amqplib';
import type { Logger } from '../../observability/logger.js';

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * One RabbitMQ connection, kept up: amqplib does not reconnect by itself, so this does, with
 * backoff, and runs `setup` (declare the queues, open channels, start consuming) on every new
 * connection. `onDown` runs when a connection is lost, before the next attempt.
 *
 * @example
 *   const link = new AmqpLink(url, logger, 'worker', { setup: async (c) => …, onDown: () => … });
 *   link.start();
 */
export class AmqpLink {
  private connection: ChannelModel | undefined;
  private stopped = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private readyWaiters: Array<() => void> = [];

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly name: string,
    private readonly hooks: { setup: (connection: ChannelModel) => Promise<void>; onDown?: () => void },
  ) {}

  get connected(): boolean {
    return this.connection !== undefined;
  }

  start(): void {
    void this.attempt();
  }

  /** Resolves once connected and set up (or rejects after `timeoutMs`). */
  ready(timeoutMs = 15_000): Promise<void> {
    if (this.connection) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        reject(new Error(`RabbitMQ not reachable after ${timeoutMs} ms`));
      }, timeoutMs).unref();
      this.readyWaiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = undefined;
    await connection?.close().catch(() => undefined);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    let connection: ChannelModel | undefined;
    try {
      connection = await connect(this.url, { clientProperties: { connection_name: this.name } });
      connection.on('error', (error: Error) =>
        this.logger.warn({ err: error, link: this.name }, 'RabbitMQ connection error'),
      );
      connection.once('close', () => this.lost(connection!));
      await this.hooks.setup(connection);
      if (this.stopped) return void (await connection.close().catch(() => undefined));
      this.connection = connection;
      if (this.backoff > MIN_BACKOFF_MS) this.logger.info({ link: this.name }, 'RabbitMQ connected again');
      this.backoff = MIN_BACKOFF_MS;
      for (const waiter of this.readyWaiters.splice(0)) waiter();
    } catch (error) {
      if (this.stopped) return;
      this.logger.warn({ err: error, link: this.name, retry_in_ms: this.backoff }, 'RabbitMQ unreachable; retrying');
      await connection?.close().catch(() => undefined);
      this.retryLater();
    }
  }

  private lost(connection: ChannelModel): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    if (this.stopped) return;
    this.logger.warn({ link: this.name }, 'RabbitMQ connection lost; reconnecting');
    this.hooks.onDown?.();
    this.retryLater();
  }

  private retryLater(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.attempt(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }
}
