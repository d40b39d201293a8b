import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import type { TenantCaps } from '../commands/tenant-caps.js';
import { principalsSchema, type ConfiguredPrincipal } from '../http/auth/principals.js';
import { shownValue, type Variable } from './variable.js';
import { variables } from './variables.js';

type Variables = typeof variables;
type Parsed = { readonly [K in keyof Variables]: z.output<Variables[K]['schema']> };

export interface Config extends Omit<
  Parsed,
  'HOST' | 'NEXUS_WORKSPACE_DIR' | 'NEXUS_OUTBOX_DIR' | 'RAG_WHOLE_FOLDER_TENANTS'
> {
  readonly HOST: string;
  /** `org/project` patterns; RAG_AUTO_INGEST_TENANT when unset. */
  readonly RAG_WHOLE_FOLDER_TENANTS: readonly string[];
  /** From NEXUS_PRINCIPALS and NEXUS_PRINCIPALS_FILE. */
  readonly principals: readonly ConfiguredPrincipal[];
  /** Absolute paths, defaults filled in. */
  readonly NEXUS_WORKSPACE_DIR: string;
  readonly NEXUS_OUTBOX_DIR: string;
  /** No key configured at all (NEXUS_API_KEY, ADMIN_API_KEY, principals): keys are not checked and only loopback is served. */
  readonly developmentMode: boolean;
  /** NEXUS_DATA_DIR made absolute. */
  readonly dataDir: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The placeholder keys of `.env.example` (and of the original guide). */
const EXAMPLE_KEYS = new Set([variables.NEXUS_API_KEY.example, variables.ADMIN_API_KEY.example]);

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

function readFile(path: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`NEXUS_PRINCIPALS_FILE: cannot read ${path}: ${(error as Error).message}`);
    return undefined;
  }
}

function readPrincipals(name: string, json: string | undefined, problems: string[]): ConfiguredPrincipal[] {
  if (json === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    problems.push(`${name}: not JSON: ${(error as Error).message}`);
    return [];
  }
  const result = principalsSchema.safeParse(value);
  if (result.success) return result.data;
  problems.push(...result.error.issues.map((i) => `${name}: [${i.path.join('.')}] ${i.message}`));
  return [];
}

/** Parses the environment; throws `ConfigError` naming every bad variable. Empty values count as unset. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(variables)) {
    const raw = env[name]?.trim();
    const result = spec.schema.safeParse(raw === '' ? undefined : raw);
    if (result.success) parsed[name] = result.data;
    else
      problems.push(
        `${name}: ${result.error.issues.map((i) => i.message).join('; ')} (got ${shownValue(raw, (spec as Variable).shown)})`,
      );
  }
  const values = parsed as Parsed;
  const principals = [
    ...readPrincipals('NEXUS_PRINCIPALS', values.NEXUS_PRINCIPALS, problems),
    ...readPrincipals(
      'NEXUS_PRINCIPALS_FILE',
      values.NEXUS_PRINCIPALS_FILE && readFile(values.NEXUS_PRINCIPALS_FILE, problems),
      problems,
    ),
  ];
  // Any configured key turns authentication on: a key that is set is never silently ignored.
  const developmentMode =
    values.NEXUS_API_KEY === undefined && values.ADMIN_API_KEY === undefined && principals.length === 0;
  // The keys printed in .env.example are public: with them, NEXUS stays on this machine.
  const exampleKey = [values.NEXUS_API_KEY, values.ADMIN_API_KEY].find(
    (key) => key !== undefined && EXAMPLE_KEYS.has(key),
  );
  const host = values.HOST ?? (developmentMode || exampleKey ? '127.0.0.1' : '0.0.0.0');
  if (problems.length === 0 && developmentMode && !isLoopback(host)) {
    problems.push(
      `HOST: ${host} is not a loopback address; set NEXUS_API_KEY (or ADMIN_API_KEY, or principals) to serve beyond this machine`,
    );
  }
  if (problems.length === 0 && exampleKey && !isLoopback(host)) {
    problems.push(
      `HOST: ${host} is not a loopback address, and ${exampleKey === values.NEXUS_API_KEY ? 'NEXUS_API_KEY' : 'ADMIN_API_KEY'} is the example key of .env.example; choose your own keys`,
    );
  }
  const providerKeys = [values.ANTHROPIC_API_KEY, values.OPENAI_API_KEY, values.GEMINI_API_KEY, values.ZAI_API_KEY];
  if (problems.length === 0 && values.LLM_REQUIRED && providerKeys.every((key) => key === undefined)) {
    problems.push(
      'LLM_REQUIRED: true, but no LLM provider is configured; set LLM_PRIMARY_PROVIDER and its API key (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY or ZAI_API_KEY), or LLM_REQUIRED=false',
    );
  }
  if (problems.length === 0 && values.NEXUS_API_KEY !== undefined && values.NEXUS_API_KEY === values.ADMIN_API_KEY) {
    problems.push('ADMIN_API_KEY: must differ from NEXUS_API_KEY');
  }
  if (problems.length === 0 && values.RABBITMQ_URL && !values.DATABASE_URL && !values.EVENTSTORE_URL) {
    problems.push('RABBITMQ_URL: needs DATABASE_URL or EVENTSTORE_URL, so that worker processes share the log');
  }
  if (problems.length === 0 && values.RABBITMQ_URL && !values.REDIS_URL) {
    problems.push('RABBITMQ_URL: needs REDIS_URL, where workers hold their task leases');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const dataDir = resolve(values.NEXUS_DATA_DIR);
  return {
    ...values,
    HOST: host,
    principals,
    developmentMode,
    dataDir,
    NEXUS_WORKSPACE_DIR: resolve(values.NEXUS_WORKSPACE_DIR ?? join(dataDir, 'workspace')),
    NEXUS_OUTBOX_DIR: resolve(values.NEXUS_OUTBOX_DIR ?? join(dataDir, 'outbox')),
    RAG_WHOLE_FOLDER_TENANTS: values.RAG_WHOLE_FOLDER_TENANTS ?? [values.RAG_AUTO_INGEST_TENANT],
  };
}

/** TENANT_MAX_*: how much one tenant may hold. */
export function tenantCaps(config: Config): TenantCaps {
  return {
    pendingAsks: config.TENANT_MAX_PENDING_ASKS,
    askBytes: config.TENANT_MAX_ASK_BYTES,
    memoryKeys: config.TENANT_MAX_MEMORY_KEYS,
    memoryBytes: config.TENANT_MAX_MEMORY_BYTES,
  };
}
