import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTestNexus } from '../support/nexus.js';

const listening = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

describe('a start that fails half-way', () => {
  it('stops what it had started: the data folder is free again for the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nexus-half-start-'));
    const taken = createServer();
    const port = await listening(taken);
    try {
      // The log, the fan-out and dispatch start; then the port is taken.
      await expect(startTestNexus({ NEXUS_DATA_DIR: dataDir, PORT: String(port) })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
    // Had the log stayed open, this start would find the folder in use by a NEXUS process.
    const nexus = await startTestNexus({ NEXUS_DATA_DIR: dataDir });
    try {
      expect((await fetch(`${nexus.url}/health`)).status).toBe(200);
    } finally {
      await nexus.stop();
    }
  });
});
