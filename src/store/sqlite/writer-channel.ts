import { Worker } from 'node:worker_threads';
import type { WireResult } from './writer.js';

export type { WireResult } from './writer.js';
export type { WireAppend } from './wire.js';

/** How the writer answers: per batch id, the result of each append, or why the commit failed. */
export type WriterAnswer = { ids: number[]; results: WireResult[][] } | { ids: number[]; failure: string };

/** The writing connection, wherever it runs. */
export interface WriterChannel {
  /** `appends`: the batch's appends, each framed by `encodeAppend` (wire.js). */
  send(id: number, appends: string): void;
  close(): Promise<void>;
}

/**
 * The writer in a worker thread: commits and their fsync run beside the event loop, which
 * stays free to serve requests meanwhile.
 */
export async function threadedWriter(
  path: string,
  schema: string,
  onAnswer: (answer: WriterAnswer) => void,
  onBroken: (error: unknown) => void,
): Promise<WriterChannel> {
  const worker = new Worker(new URL('./writer.worker.js', import.meta.url), { workerData: { path, schema } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  let closing = false;
  let alive = true;
  worker.on('message', (message: { type: string; ids: number[]; results: WireResult[][]; message: string }) => {
    if (message.type === 'appended') onAnswer({ ids: message.ids, results: message.results });
    else if (message.type === 'failed') onAnswer({ ids: message.ids, failure: message.message });
  });
  worker.on('error', onBroken);
  worker.on('exit', () => {
    alive = false;
    if (!closing) onBroken(new Error('the writer thread stopped'));
  });
  return {
    send: (id, appends) => worker.postMessage({ type: 'append', id, appends }),
    close: async () => {
      closing = true;
      if (!alive) return;
      await new Promise<void>((resolve) => {
        worker.on('message', (message: { type: string }) => message.type === 'closed' && resolve());
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'close' });
      });
      await worker.terminate();
    },
  };
}
