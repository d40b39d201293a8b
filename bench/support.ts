import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';

import { API_KEY } from '../test/support/nexus.js';

/**
 * Idle keep-alive sockets are dropped after this, before the server's own 5 s keep-alive
 * timeout closes them under a request about to reuse one (a "socket hang up" race).
 */
export const IDLE_SOCKET_MS = 4000;

export const tenantHeaders = (org: string) => ({ 'x-api-key': API_KEY, 'x-org-id': org, 'x-project-id': 'bench' });

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A keep-alive HTTP client, lighter than fetch, so the load generator leaves the server its core. */
export function commandClient(baseUrl: string, org: string, connections: number) {
  const url = new URL('/sidecar/command', baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections, timeout: IDLE_SOCKET_MS });
  const headers = { ...tenantHeaders(org), 'content-type': 'application/json' };
  return {
    send(body: unknown): Promise<number> {
      const payload = JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(payload) } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}

/**
 * A raw SSE subscriber: no parsing beyond looking for markers, so thousands fit in one
 * process. `onText` sees every chunk (with the tail of the previous one).
 */
export function rawSubscriber(
  baseUrl: string,
  org: string,
  path: string,
  onText: (text: string) => void,
): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const head = Object.entries(tenantHeaders(org))
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\naccept: text/event-stream\r\n${head}\r\n`);
      resolve(socket);
    });
    socket.setEncoding('utf8');
    let tail = '';
    socket.on('data', (chunk: string) => {
      const text = tail + chunk;
      onText(text);
      tail = text.slice(-200);
    });
    socket.on('error', reject);
  });
}
