import { once } from 'node:events';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { TaskPublisher } from '../../dispatch/dispatcher.js';
import type { Logger } from '../../observability/logger.js';
import type { PendingTask } from '../../projections/pending-tasks.js';
import { AmqpLink } from './amqp-link.js';
import { declareQueues, queueDepth, type QueueTopology } from './queue-topology.js';
import { encodeTaskMessage } from '../task-message.js';
import { sleep } from '../../shared/sleep.js';

/**
 * Publishes due tasks to `TASK_QUEUE` and dead letters to `DLQ_QUEUE`, persistent, with
 * publisher confirms: a publish resolves once the broker has the message durable. While the
 * broker is away a publish waits for it and tries again, so nothing due is dropped; the
 * dispatcher bounds how many wait at once.
 */
export class QueuePublisher implements TaskPublisher {
  private channel: ConfirmChannel | undefined;
  private connection: ChannelModel | undefined;
  private readonly link: AmqpLink;
  private closed = false;
  private drained: Promise<void> = Promise.resolve();

  constructor(
    url: string,
    private readonly queues: QueueTopology,
    private readonly logger: Logger,
  ) {
    this.link = new AmqpLink(url, logger, 'nexus-supervisor-publisher', {
      setup: (connection) => this.setup(connection),
      onDown: () => {
        this.channel = undefined;
        this.connection = undefined;
      },
    });
  }

  /** Connects (and declares the queues), waiting up to `timeoutMs` for the broker. */
  async start(timeoutMs?: number): Promise<void> {
    this.link.start();
    await this.link.ready(timeoutMs);
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  publishTask(task: PendingTask): Promise<void> {
    return this.publish(this.queues.tasks, task);
  }

  publishDeadLetter(task: PendingTask): Promise<void> {
    return this.publish(this.queues.dlq, task);
  }

  /** Messages waiting in a queue; NaN while the broker is away. */
  async depth(queue: 'tasks' | 'dlq'): Promise<number> {
    const connection = this.connection;
    if (!connection || !this.channel) return Number.NaN;
    // On a channel of its own: a missing queue must not close the publishing channel.
    return queueDepth(connection, this.queues[queue]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.link.close();
  }

  private async setup(connection: ChannelModel): Promise<void> {
    await declareQueues(connection, this.queues, ['dlq', 'tasks'], this.logger);
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn({ err: error }, 'RabbitMQ publish channel error'));
    // A channel closed under a live connection (a channel error) would leave us without one:
    // close the connection too, and the link sets everything up again.
    channel.once('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      void connection.close().catch(() => undefined);
    });
    this.channel = channel;
    this.connection = connection;
  }

  private async publish(queue: string, task: PendingTask): Promise<void> {
    const attempt = 'attempt' in task.state ? task.state.attempt : 'attempts' in task.state ? task.state.attempts : 0;
    const body = encodeTaskMessage({
      tenant: task.tenant,
      command_id: task.command_id,
      correlation_id: task.correlation_id,
      attempt,
    });
    for (;;) {
      if (this.closed) throw new Error('the task publisher is closed');
      const channel = this.channel;
      if (!channel) {
        // Not set up yet, or being set up again: wait for the link (and never spin).
        await Promise.all([this.link.ready(60_000).catch(() => undefined), sleep(50)]);
        continue;
      }
      await this.drained;
      try {
        await new Promise<void>((resolve, reject) => {
          const flowing = channel.sendToQueue(
            queue,
            body,
            {
              persistent: true,
              contentType: 'application/json',
              correlationId: task.correlation_id,
              messageId: `${task.command_id}:${attempt}`,
            },
            (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
          );
          // The socket's buffer is full: later publishes wait for it to drain.
          if (!flowing)
            this.drained = once(channel, 'drain').then(
              () => undefined,
              () => undefined,
            );
        });
        return;
      } catch (error) {
        // Not confirmed (nacked, or the channel went down with it): publish again.
        this.logger.debug({ err: error, command_id: task.command_id }, 'publish not confirmed; publishing again');
        if (this.channel === channel) await sleep(100);
      }
    }
  }
}
