// A NEXUS worker process, as src/main/worker-main.ts starts it, with the test command types added.
import { loadConfig } from '../../src/config/load-config.js';
import { startWorker } from '../../src/main/worker.js';
import { testCatalog } from './test-commands.js';

const worker = await startWorker(loadConfig(process.env), { catalog: testCatalog });
process.once('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
