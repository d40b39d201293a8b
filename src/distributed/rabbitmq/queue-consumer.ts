import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../observability/logger.js';
import { sleep } from '../../shared/sleep.js';
import { AmqpLink } from './amqp-link.js';
import { declareQueues, type QueueRole, type QueueTopology } from './queue-topology.js';
import { decodeTaskMessage, NotNowError, type TaskMessage } from '../task-message.js';

/** How long a message whose handler failed waits before it goes back to the queue. */
const REQUEUE_DELAY_MS = 1000;

/** What RabbitMQ says of a delivery, besides the task. */
export interface Delivery {
  /** Set when RabbitMQ dead-lettered the message: why (`delivery_limit`, …) and from which queue. */
  readonly deadLettered?: { readonly reason: string; readonly queue: string };
}

export interface QueueConsumerOptions {
  readonly url: string;
  /** NEXUS's queues (`queueTopology(config)`), declared as NEXUS declares them. */
  readonly queues: QueueTopology;
  /** Which of them this consumes. */
  readonly queue: QueueRole;
  /** Unacknowledged messages held at once. */
  readonly prefetch: number;
  readonly name: string;
  readonly logger: Logger;
  /** Settles when the message's work is recorded in the log (or needs none): then it is acked. */
  readonly handle: (message: TaskMessage, delivery: Delivery) => Promise<void>;
}

/**
 * Consumes one durable queue with manual acks: a message is acked only after its handler has
 * settled, so a process that dies holding messages has them redelivered to another. Survives
 * broker restarts and a deleted queue (reconnects, re-declares, consumes again). A handler that
 * throws has its message returned to the queue a little later; each return counts against the
 * task queue's delivery limit.
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

  private get queueName(): string {
    return this.options.queues[this.options.queue];
  }

  private async setup(connection: ChannelModel): Promise<void> {
    // The task queue dead-letters to the DLQ, which must exist first.
    await declareQueues(
      connection,
      this.options.queues,
      this.options.queue === 'tasks' ? ['dlq', 'tasks'] : ['dlq'],
      this.options.logger,
    );
    const channel = await connection.createChannel();
    channel.on('error', (error: Error) =>
      this.options.logger.warn({ err: error, queue: this.queueName }, 'RabbitMQ consumer channel error'),
    );
    // A channel the broker closed under a live connection (a consumer timeout, say) would stop
    // consuming for good: close the connection too, and the link sets everything up again.
    channel.once('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      if (!this.stopping) void connection.close().catch(() => undefined);
    });
    await channel.prefetch(this.options.prefetch);
    if (this.stopping) return;
    const { consumerTag } = await channel.consume(
      this.queueName,
      (message) => this.deliver(connection, channel, message),
      { noAck: false },
    );
    this.channel = channel;
    this.consumerTag = consumerTag;
  }

  private deliver(connection: ChannelModel, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted, say): set everything up again.
      this.options.logger.warn({ queue: this.queueName }, 'RabbitMQ cancelled the consumer; reconnecting');
      if (!this.stopping) void connection.close().catch(() => undefined);
      return;
    }
    const task = decodeTaskMessage(message.content);
    if (!task) {
      this.options.logger.error(
        { queue: this.queueName, content: message.content.toString('utf8', 0, 200) },
        'dropped a message that is not a task',
      );
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
    const work = this.options.handle(task, deliveryOf(message)).then(
      () => settle('ack'),
      async (error: unknown) => {
        const notNow = error instanceof NotNowError;
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

function deliveryOf(message: ConsumeMessage): Delivery {
  const headers = message.properties.headers ?? {};
  const [reason, queue] = [headers['x-first-death-reason'], headers['x-first-death-queue']];
  return typeof reason === 'string' && typeof queue === 'string' ? { deadLettered: { reason, queue } } : {};
}
