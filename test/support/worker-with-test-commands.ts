// A NEXUS worker process, as src/worker-main.ts starts it, with the test command types added.
import { loadConfig } from '../../src/config.js';
import { startWorker } from '../../src/worker-process.js';
import { testCatalog } from './test-commands.js';

const worker = await startWorker(loadConfig(process.env), { catalog: testCatalog });
process.once('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
