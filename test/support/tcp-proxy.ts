import { connect, createServer, type Socket } from 'node:net';

/** A message a PostgreSQL client sends: its type ('Q' a simple query, 'P' parse, 'B' bind, ...) and its body. */
export interface ClientMessage {
  readonly type: string;
  readonly body: Buffer;
}

export interface Cut {
  /** The client message that cuts the connection it is sent on. */
  readonly on: (message: ClientMessage) => boolean;
  /** 'after': the server receives the message and the client never hears back; 'before': the server never receives it. */
  readonly when: 'after' | 'before';
  /** Then the server goes out of reach: every connection is closed, and new ones too, until `up()`. */
  readonly thenDown?: boolean;
}

export interface TcpProxy {
  /** The target's URL with the proxy as its host and port. */
  readonly url: string;
  /** Cuts the next connection on which `cut.on` matches a message; resolves once it is cut. */
  cutOn(cut: Cut): Promise<ClientMessage>;
  /** Lets clients through again after a cut with `thenDown`. */
  up(): void;
  close(): Promise<void>;
}

/** A simple query ('Q') starting with `text`: how pg sends BEGIN, COMMIT and every query without parameters. */
export const simpleQuery =
  (text: string) =>
  ({ type, body }: ClientMessage): boolean =>
    type === 'Q' && body.toString('utf8').startsWith(text);

/** A Bind ('B') of the prepared statement `name`: sent at every execution of it, parsed or not. */
export const bindOf =
  (name: string) =>
  ({ type, body }: ClientMessage): boolean =>
    type === 'B' && body.toString('utf8').split('\0')[1] === name;

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

/**
 * A TCP proxy in front of a PostgreSQL server that cuts a connection at a chosen client
 * message, for faults no server setting can make: a COMMIT the server receives while the
 * client never hears its answer. Listens on 127.0.0.1 on a free port and keeps accepting new
 * connections after a cut, as a pool that reconnects needs.
 *
 * @example
 *   const proxy = await startTcpProxy('postgres://postgres@127.0.0.1:5432/test');
 *   const cut = proxy.cutOn({ on: simpleQuery('COMMIT'), when: 'after' });
 */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const cuts: Array<Cut & { done: (message: ClientMessage) => void }> = [];
  let down = false;

  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port || 5432), hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => open.delete(socket));
    }
    upstream.pipe(client);
    // Once cut, the server's side closes on its own: destroyed, it could be reset before the server read the message.
    let cutHere = false;
    client.on('close', () => cutHere || upstream.destroy());
    upstream.on('close', () => client.destroy());

    const reader = new MessageReader();
    client.on('data', (chunk: Buffer) => {
      for (const { message, raw } of reader.push(chunk)) {
        const index = message && cuts.findIndex((cut) => cut.on(message));
        if (message === undefined || index === undefined || index < 0) {
          upstream.write(raw);
          continue;
        }
        const [cut] = cuts.splice(index, 1);
        cutHere = true;
        if (cut!.when === 'after') upstream.write(raw);
        // The server reads what was sent, then the end of the connection; the client hears nothing more.
        upstream.unpipe(client);
        client.destroy();
        upstream.end();
        upstream.resume();
        if (cut!.thenDown) {
          down = true;
          for (const socket of open) if (socket !== upstream) socket.destroy();
        }
        cut!.done(message);
        return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    url: url.toString(),
    cutOn: (cut) => new Promise((done) => cuts.push({ ...cut, done })),
    up: () => {
      down = false;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Splits a client's byte stream into whole messages: untyped during start-up, typed after. */
class MessageReader {
  private buffered = Buffer.alloc(0);
  private starting = true;

  /** Every whole message the bytes so far complete, with its bytes as sent; `message` is undefined for start-up messages. */
  push(chunk: Buffer): Array<{ message?: ClientMessage; raw: Buffer }> {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const messages: Array<{ message?: ClientMessage; raw: Buffer }> = [];
    for (;;) {
      const header = this.starting ? 0 : 1;
      if (this.buffered.length < header + 4) break;
      const end = header + this.buffered.readInt32BE(header);
      if (this.buffered.length < end) break;
      const raw = this.buffered.subarray(0, end);
      this.buffered = this.buffered.subarray(end);
      if (this.starting) {
        // After an SSL or GSS encryption request, the start-up message follows, untyped too.
        const code = raw.readInt32BE(4);
        this.starting = code === SSL_REQUEST || code === GSSENC_REQUEST;
        messages.push({ raw });
      } else {
        messages.push({ message: { type: String.fromCharCode(raw[0]!), body: raw.subarray(5) }, raw });
      }
    }
    return messages;
  }
}
