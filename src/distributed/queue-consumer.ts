import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../logger.js';
import { sleep } from '../sleep.js';
import { AmqpLink, QUEUE_OPTIONS } from './amqp-link.js';
import { decodeTaskMessage, type TaskMessage } from './task-message.js';

/** How long a message whose handler failed waits before it goes back to the queue. */
const REQUEUE_DELAY_MS = 1000;

export interface QueueConsumerOptions {
  readonly url: string;
  readonly queue: string;
  /** Unacknowledged messages held at once. */
  readonly prefetch: number;
  readonly name: string;
  readonly logger: Logger;
  /** Settles when the message's work is recorded in the log (or needs none): then it is acked. */
  readonly handle: (message: TaskMessage) => Promise<void>;
}

/**
 * Consumes one durable queue with manual acks: a message is acked only after its handler has
 * settled, so a process that dies holding messages has them redelivered to another. Survives
 * broker restarts (reconnects, re-declares, consumes again). A handler that throws has its
 * message returned to the queue a little later.
 */
export class QueueConsumer {
  private readonly link: AmqpLink;
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(private readonly options: QueueConsumerOptions) {
    this.link = new AmqpLink(options.url, options.logger, options.name, {
      setup: (connection) => this.setup(connection),
      onDown: () => {
        this.channel = undefined;
        this.consumerTag = undefined;
      },
    });
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  async start(timeoutMs?: number): Promise<void> {
    this.link.start();
    await this.link.ready(timeoutMs);
  }

  /** Stops taking messages; waits up to `graceMs` for those in hand; then closes. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    const settled = Promise.allSettled([...this.inFlight]);
    await Promise.race([settled, sleep(graceMs)]);
    await this.link.close();
  }

  private async setup(connection: ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) => this.options.logger.warn({ err: error, queue: this.options.queue }, 'RabbitMQ consumer channel error'));
    // A channel the broker closed under a live connection (a consumer timeout, say) would stop
    // consuming for good: close the connection too, and the link sets everything up again.
    channel.once('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      if (!this.stopping) void connection.close().catch(() => undefined);
    });
    await channel.assertQueue(this.options.queue, QUEUE_OPTIONS);
    await channel.prefetch(this.options.prefetch);
    if (this.stopping) return;
    const { consumerTag } = await channel.consume(this.options.queue, (message) => this.deliver(channel, message), { noAck: false });
    this.channel = channel;
    this.consumerTag = consumerTag;
  }

  private deliver(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) return; // the broker cancelled the consumer; the link reconnects
    const task = decodeTaskMessage(message.content);
    if (!task) {
      this.options.logger.error({ queue: this.options.queue, content: message.content.toString('utf8', 0, 200) }, 'dropped a message that is not a task');
      channel.ack(message);
      return;
    }
    const settle = (action: 'ack' | 'nack') => {
      // Settled on the channel it came on; if that channel is gone the broker redelivers the
      // message, and the log tells whoever gets it that there is nothing left to do.
      if (this.channel !== channel) return;
      try {
        if (action === 'ack') channel.ack(message);
        else channel.nack(message, false, true);
      } catch {
        // the channel closed in between: the same as above
      }
    };
    const work = this.options.handle(task).then(
      () => settle('ack'),
      async (error: unknown) => {
        const notNow = error instanceof Error && error.name === 'NotNowError';
        const log = { err: error, command_id: task.command_id, correlation_id: task.correlation_id };
        if (notNow) this.options.logger.debug(log, 'task not for now; it goes back to the queue');
        else this.options.logger.error(log, 'task not handled; it goes back to the queue');
        await sleep(REQUEUE_DELAY_MS);
        settle('nack');
      },
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
  }
}
