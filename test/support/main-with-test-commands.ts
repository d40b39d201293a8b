// NEXUS as a process, as src/main/supervisor-main.ts starts it, with the test command types added: for process
// tests (kill -9 in the middle of a slow task, logs of a failing task).
import { loadConfig } from '../../src/config/load-config.js';
import { startNexus } from '../../src/main/supervisor.js';
import { testCatalog } from './test-commands.js';

const nexus = await startNexus(loadConfig(process.env), { catalog: testCatalog });
process.once('SIGTERM', () => void nexus.stop().then(() => process.exit(0)));
