import type pg from 'pg';

export interface ListenerOptions {
  readonly client: () => pg.Client;
  readonly channel: string;
  /** A notification arrived (its payload is the new head position). */
  readonly onNotify: (payload: string | undefined) => void;
  /** LISTEN is back after the connection dropped: notifications sent meanwhile are lost. */
  readonly onResumed: () => void;
}

export interface Listener {
  close(): Promise<void>;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5_000;

/**
 * A connection of its own that LISTENs on the channel, and LISTENs again, with backoff, whenever
 * that connection drops. Resolves once the first LISTEN is in place; rejects if it cannot be.
 */
export async function listen(options: ListenerOptions): Promise<Listener> {
  let current: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let delay = FIRST_RETRY_MS;

  const connect = async (): Promise<void> => {
    const client = options.client();
    let dropped = false;
    let listening = false;
    const lost = (): void => {
      dropped = true;
      if (!listening || closed) return;
      listening = false;
      current = undefined;
      void client.end().catch(() => undefined);
      scheduleRetry();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel === options.channel) options.onNotify(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${options.channel}"`);
      if (dropped) throw new Error('the connection dropped while it started to LISTEN');
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    listening = true;
    current = client;
  };

  const scheduleRetry = (): void => {
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          delay = FIRST_RETRY_MS;
          if (!closed) options.onResumed();
        },
        () => {
          delay = Math.min(delay * 2, LAST_RETRY_MS);
          if (!closed) scheduleRetry();
        },
      );
    }, delay);
    retry.unref();
  };

  await connect();
  return {
    close: async () => {
      closed = true;
      clearTimeout(retry);
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
