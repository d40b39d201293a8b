import type { Channel, ChannelModel, Options } from 'amqplib';
import type { Config } from '../../config/load-config.js';
import type { Logger } from '../../observability/logger.js';

/** NEXUS's two queues, and how often a task message may be delivered before it is dead-lettered. */
export interface QueueTopology {
  readonly tasks: string;
  readonly dlq: string;
  /** Redeliveries of a task message (`x-delivery-limit`) before RabbitMQ moves it to `dlq`. */
  readonly deliveryLimit: number;
}

export type QueueRole = 'tasks' | 'dlq';

/**
 * The queues as the configuration names them.
 *
 * @example
 *   new QueuePublisher(config.RABBITMQ_URL, queueTopology(config), logger);
 */
export const queueTopology = (
  config: Pick<Config, 'TASK_QUEUE' | 'DLQ_QUEUE' | 'RABBITMQ_DELIVERY_LIMIT'>,
): QueueTopology => ({
  tasks: config.TASK_QUEUE,
  dlq: config.DLQ_QUEUE,
  deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT,
});

/**
 * How NEXUS declares a queue: durable and quorum, so it survives a broker restart with every
 * message confirmed to us. The task queue dead-letters a message delivered more than
 * `deliveryLimit` times to the DLQ, through the default exchange, at least once (RabbitMQ then
 * keeps the message until the DLQ has it; that strategy needs `reject-publish` overflow, which
 * does nothing without a length limit). The DLQ has no limit: the supervisor puts back there
 * what it must look at again.
 */
export function queueOptions(topology: QueueTopology, role: QueueRole): Options.AssertQueue {
  if (role === 'dlq') return { durable: true, arguments: { 'x-queue-type': 'quorum' } };
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': topology.deliveryLimit,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': topology.dlq,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/**
 * Declares the queues of `roles` (the DLQ first: it is where the task queue dead-letters). A
 * queue already declared with other arguments (by a NEXUS before delivery limits, say) makes
 * RabbitMQ refuse the declaration (406) and close the channel: it is then checked on a new
 * channel and used as it is, with a warning that says how to give it NEXUS's arguments.
 */
export async function declareQueues(
  connection: ChannelModel,
  topology: QueueTopology,
  roles: readonly QueueRole[],
  logger: Logger,
): Promise<void> {
  for (const role of (['dlq', 'tasks'] as const).filter((r) => roles.includes(r))) {
    const name = topology[role];
    const options = queueOptions(topology, role);
    const declared = await onChannel(connection, (channel) => channel.assertQueue(name, options)).then(
      () => true,
      (error: unknown) => {
        if ((error as { code?: unknown }).code === 406) return false;
        throw error;
      },
    );
    if (declared) continue;
    await onChannel(connection, (channel) => channel.checkQueue(name));
    if (role === 'dlq') {
      logger.warn(
        { queue: name, wanted_arguments: options.arguments },
        `RabbitMQ queue ${name} exists with other arguments than NEXUS declares; using it as it is`,
      );
      continue;
    }
    logger.warn(
      { queue: name, wanted_arguments: options.arguments, remedy: deliveryLimitRemedy(name, options) },
      `RabbitMQ queue ${name} exists with other arguments than NEXUS declares; using it as it is, ` +
        `without a delivery limit of ${topology.deliveryLimit} unless a policy sets one (NEXUS cannot see policies)`,
    );
  }
}

/** Messages waiting in a queue, asked on a channel of its own (a missing queue closes it); NaN when unknown. */
export function queueDepth(connection: ChannelModel, queue: string): Promise<number> {
  return onChannel(connection, (channel) => channel.checkQueue(queue)).then(
    ({ messageCount }) => messageCount,
    () => Number.NaN,
  );
}

async function onChannel<T>(connection: ChannelModel, use: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  // A refused operation closes the channel and rejects `use`; the event would be unhandled.
  channel.on('error', () => undefined);
  try {
    return await use(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** The two ways to give an existing task queue NEXUS's delivery limit and dead-lettering. */
function deliveryLimitRemedy(name: string, options: Options.AssertQueue): string {
  const policy = Object.fromEntries(
    Object.entries(options.arguments as Record<string, unknown>)
      .filter(([key]) => key !== 'x-queue-type')
      .map(([key, value]) => [key.slice('x-'.length), value]),
  );
  const pattern = `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  return (
    `stop NEXUS, delete the queue (rabbitmqctl delete_queue ${name}) and start NEXUS again: it declares the queue with the limit and publishes again what the log shows due; ` +
    `or, while it runs, apply a policy: rabbitmqctl set_policy ${name}-delivery-limit '${pattern}' '${JSON.stringify(policy)}' --apply-to queues`
  );
}
