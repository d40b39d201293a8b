import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { builtInCatalog, type BuiltInDeps } from '../../src/catalog/built-in.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { defineCommand, TaskFailure } from '../../src/catalog/define-command.js';

const failuresLeft = new Map<string, number>();

const stopped = (signal: AbortSignal) =>
  new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

/** Real command types whose handlers misbehave on purpose, as a user's own handlers might. */
export const testCommands = [
  defineCommand({
    type: 'test.flaky',
    risk: 'GREEN',
    description: 'Fails `times` times, then succeeds',
    params: z.object({ key: z.string(), times: z.number().int() }),
    handler: ({ key, times }) => {
      const left = failuresLeft.get(key) ?? times;
      failuresLeft.set(key, left - 1);
      if (left > 0) throw new Error(`flaky failure, ${left} to go`);
      return { ok: true };
    },
  }),
  defineCommand({
    type: 'test.poison',
    risk: 'GREEN',
    description: 'Always fails with a retryable error',
    params: z.object({}),
    handler: () => {
      throw new TaskFailure('UPSTREAM_DOWN', 'always down', true);
    },
  }),
  defineCommand({
    type: 'test.fail',
    risk: 'GREEN',
    description: 'Always fails, retryably, with the failure code it is given',
    params: z.object({ code: z.string() }),
    handler: ({ code }) => {
      throw new TaskFailure(code, `always fails with ${code}`, true);
    },
  }),
  defineCommand({
    type: 'test.progress',
    risk: 'GREEN',
    description: 'Reports its progress four times, two of them too close together',
    params: z.object({}),
    handler: async (_params, { progress }) => {
      await progress({ percent: 10, message: 'started' });
      await progress({ percent: 20 }); // within 200 ms of the last: dropped
      await new Promise((resolve) => setTimeout(resolve, 250));
      await progress({ percent: 60 });
      await progress({ percent: 100, message: 'done' }); // a final 100 % always counts
      return { ok: true };
    },
  }),
  defineCommand({
    type: 'test.fatal',
    risk: 'GREEN',
    description: 'Fails with an error that retrying cannot fix',
    params: z.object({}),
    handler: () => {
      throw new TaskFailure('BAD_INPUT', 'cannot ever work');
    },
  }),
  defineCommand({
    type: 'test.hang',
    risk: 'GREEN',
    description: 'Never answers until aborted',
    params: z.object({}),
    handler: (_params, { signal }) => stopped(signal),
  }),
  defineCommand({
    type: 'test.record',
    risk: 'GREEN',
    description: 'Appends a line to `file` (one per run), then waits `ms` (or until aborted) on the first attempt',
    params: z.object({ file: z.string(), line: z.string(), ms: z.number().int().nonnegative().default(0) }),
    handler: async ({ file, line, ms }, { attempt, signal }) => {
      await appendFile(file, `${line} attempt=${attempt}\n`);
      if (ms > 0 && attempt === 1)
        await Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), stopped(signal)]);
      return { line };
    },
  }),
  defineCommand({
    type: 'test.red',
    risk: 'RED',
    description: 'A risky command: appends its params to `file` when it runs',
    params: z.object({ file: z.string(), note: z.string() }),
    handler: async ({ file, note }, { command_id, attempt }) => {
      await appendFile(file, `${command_id} ${note} attempt=${attempt}\n`);
      return { note };
    },
  }),
  defineCommand({
    type: 'test.red-flaky',
    risk: 'RED',
    description: 'A risky command that fails for good `times` times (keyed by `key`), then appends to `file`',
    params: z.object({ key: z.string(), times: z.number().int(), file: z.string() }),
    handler: async ({ key, times, file }, { command_id, attempt }) => {
      const left = failuresLeft.get(key) ?? times;
      failuresLeft.set(key, left - 1);
      if (left > 0) throw new TaskFailure('NOT_YET', `fails ${left} more times`);
      await appendFile(file, `${command_id} attempt=${attempt}\n`);
      return { ok: true };
    },
  }),
  defineCommand({
    type: 'test.red-doubling',
    risk: 'RED',
    description:
      'A risky command whose params schema is not idempotent: parsing doubles the amount (as a changed schema might)',
    params: z
      .object({ amount: z.number(), file: z.string() })
      .transform(({ amount, file }) => ({ amount: amount * 2, file })),
    handler: async ({ amount, file }, { command_id }) => {
      await appendFile(file, `${command_id} paid ${amount}\n`);
      return { amount };
    },
  }),
  defineCommand({
    type: 'test.remember',
    risk: 'GREEN',
    description: 'Writes a key of the memory from its handler, as an agent would',
    params: z.object({ key: z.string(), value: z.unknown() }),
    handler: async ({ key, value }, { memory }) => {
      await memory.set(key, value);
      return { key };
    },
  }),
  defineCommand({
    type: 'test.stubborn',
    risk: 'GREEN',
    description: 'Ignores its abort: on the first attempt keeps running `ms` after it was told to stop',
    params: z.object({ file: z.string(), ms: z.number().int().nonnegative() }),
    handler: async ({ file, ms }, { attempt }) => {
      await appendFile(file, `start ${attempt}\n`);
      if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, ms));
      await appendFile(file, `end ${attempt}\n`);
      return { attempt };
    },
  }),
];

/** The built-in command types plus the test ones. */
export const testCatalog = (deps: BuiltInDeps) => new Catalog([...builtInCatalog(deps).list(), ...testCommands]);
