import { runProcess } from './process-entry.js';
import { startWorker } from './worker-process.js';

// A worker process (npm run worker): runs the tasks the supervisor publishes to RabbitMQ.
await runProcess('NEXUS worker', (config) => startWorker(config));
