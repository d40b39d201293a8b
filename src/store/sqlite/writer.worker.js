// The embedded store's writer in a worker thread, so that commits (and their fsync) never
// block the event loop that serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeAppends } from './wire.js';
import { openWriter } from './writer.js';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const writer = openWriter(workerData.path, workerData.schema);

/** @type {Array<{ id: number, appends: import('./wire.js').WireAppend[] }>} */
let pending = [];

// Batches that arrive while one commits wait for the next: all of them then share one
// transaction (one fsync), however many the main thread sent meanwhile.
function commitPending() {
  const batches = pending;
  pending = [];
  const ids = batches.map((batch) => batch.id);
  try {
    port.postMessage({ type: 'appended', ids, results: writer.commit(batches.map((batch) => batch.appends)) });
  } catch (error) {
    port.postMessage({ type: 'failed', ids, message: error instanceof Error ? error.message : String(error) });
  }
}

port.on('message', (message) => {
  if (message.type === 'append') {
    if (pending.length === 0) setImmediate(commitPending);
    pending.push({ id: message.id, appends: decodeAppends(message.appends) });
  } else if (message.type === 'close') {
    if (pending.length > 0) commitPending();
    writer.close();
    port.postMessage({ type: 'closed' });
  }
});

port.postMessage({ type: 'ready' });
