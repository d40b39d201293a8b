// One chain verification in a worker thread: it answers once and ends.
import { parentPort, workerData } from 'node:worker_threads';
import { verifyTenantChain } from './sqlite-verify.js';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
try {
  port.postMessage({ result: verifyTenantChain(workerData.path, workerData.tenant) });
} catch (error) {
  port.postMessage({ failure: error instanceof Error ? error.message : String(error) });
}
