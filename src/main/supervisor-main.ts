import { startNexus } from './supervisor.js';
import { runProcess } from './run-process.js';

// The supervisor (npm start): the HTTP API, the SSE streams, dispatch.
await runProcess('NEXUS', (config) => startNexus(config));
