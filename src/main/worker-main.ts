import { runProcess } from './run-process.js';
import { startWorker } from './worker.js';

// A worker process (npm run worker): runs the tasks the supervisor publishes to RabbitMQ.
await runProcess('NEXUS worker', (config) => startWorker(config));
