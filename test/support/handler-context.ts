import type { HandlerContext } from '../../src/catalog/define-command.js';
import { createLogger } from '../../src/observability/logger.js';

/**
 * A handler context for calling a command's handler directly: a memory of its own (a Map), no
 * LLM (calls fail), a silent logger. `overrides` replace any part.
 */
export function handlerContext(overrides: Partial<HandlerContext> = {}): HandlerContext {
  const memory = new Map<string, unknown>();
  return {
    tenant: { org_id: 'acme', project_id: 'web' },
    command_type: 'test',
    correlation_id: 'corr-1',
    command_id: 'cmd-1',
    task_id: 'task-1',
    attempt: 1,
    signal: new AbortController().signal,
    logger: createLogger({ level: 'silent' }),
    memory: {
      get: async (key) => memory.get(key),
      all: async () => Object.fromEntries(memory),
      set: async (key, value) => void memory.set(key, value),
      delete: async (key) => void memory.delete(key),
    },
    progress: async () => {},
    llm: {
      complete: () => Promise.reject(new Error('no LLM here')),
      extract: () => Promise.reject(new Error('no LLM here')),
    },
    ...overrides,
  };
}
