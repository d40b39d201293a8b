// One chain verification in a worker thread: it answers once and ends. On Linux it first
// lowers its own thread's priority, so that the thread serving requests gets the cores first.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { verifyTenantChain } from './verify.js';

try {
  // "/proc/thread-self" links to "<pid>/task/<tid>"; a thread's priority is set by its tid.
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isInteger(tid)) setPriority(tid, 19);
} catch {
  // not Linux, or not allowed: the verification runs at the usual priority
}

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
try {
  port.postMessage({ result: verifyTenantChain(workerData.path, workerData.tenant) });
} catch (error) {
  port.postMessage({ failure: error instanceof Error ? error.message : String(error) });
}
