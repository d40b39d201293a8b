import { startNexus } from './nexus.js';
import { runProcess } from './process-entry.js';

// The supervisor (npm start): the HTTP API, the SSE streams, dispatch.
await runProcess('NEXUS', (config) => startNexus(config));
