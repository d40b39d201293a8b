import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseRiskOverrides } from './catalog/risk-policy.js';
import { principalsSchema, type ConfiguredPrincipal } from './principals.js';
import type { TenantCaps } from './commands/tenant-caps.js';

/**
 * Every setting NEXUS reads, parsed once at start. Mirrors `.env.example` (a test keeps the
 * two in step): REQUIRED for production, OPTIONAL worth knowing, ADVANCED rarely touched.
 */
type Section = 'REQUIRED' | 'OPTIONAL' | 'ADVANCED';
interface Variable<T extends z.ZodType = z.ZodType> {
  readonly section: Section;
  readonly schema: T;
  /** One line for `.env.example` and the README. */
  readonly help: string;
  /** The default as written in `.env.example`; empty when there is none. */
  readonly example: string;
  /** How a bad value is shown in an error: never a secret, never a URL's password. */
  readonly shown?: 'secret' | 'url';
}

const variable = <T extends z.ZodType>(section: Section, schema: T, help: string, example = '', shown?: Variable['shown']): Variable<T> => ({
  section,
  schema,
  help,
  example,
  ...(shown === undefined ? {} : { shown }),
});

/** `true` or `false`, as a boolean. */
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((value) => value === 'true');
const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
const providerName = z.enum(['anthropic', 'openai', 'gemini', 'zai']);
const pricesSchema = z.record(z.string(), z.object({ input_per_mtok: z.number().nonnegative(), output_per_mtok: z.number().nonnegative() }).strict());

// One LLM provider's key, model and base URL (a proxy or gateway).
const apiKeyOf = (vendor: string) => variable('OPTIONAL', z.string().min(1).optional(), `${vendor} API key; the provider is configured when it is set.`, '', 'secret');
const modelOf = (vendor: string, model: string) => variable('OPTIONAL', z.string().min(1).default(model), `${vendor} model.`, model);
const baseUrlOf = (vendor: string) => variable('ADVANCED', z.url().optional(), `${vendor} API base URL (a proxy or gateway). Default: the vendor's.`);

/** A comma-separated list of failure codes. */
const codeList = (text: string): string[] => text.split(',').map((code) => code.trim()).filter((code) => code !== '');
const secret = z.string().min(8, 'must be at least 8 characters').optional();

export const variables = {
  NEXUS_API_KEY: variable(
    'REQUIRED',
    secret,
    'Key clients send as x-api-key. Unset (and no ADMIN_API_KEY or principals): development mode (loopback only, keys not checked). The example value serves loopback only.',
    'dev-key-change-in-production',
    'secret',
  ),
  ADMIN_API_KEY: variable('REQUIRED', secret, 'Key for admin routes (x-api-key). Unset: admin routes only in development mode.', 'admin-key-change-in-production', 'secret'),
  NEXUS_PRINCIPALS: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'Named keys as JSON: [{"id","key_sha256","roles":["requester","approver","admin"],"tenants":["org/project", "org/*"]}].',
  ),
  SESSION_TTL_SECONDS: variable(
    'OPTIONAL',
    int(60, 86_400, 900),
    'How long a dashboard session cookie lives; an open dashboard renews it (for at most 12 hours after sign-in).',
    '900',
  ),
  SESSION_SECRET: variable(
    'ADVANCED',
    z.string().min(32, 'must be at least 32 characters').optional(),
    'Signs dashboard session cookies and share links; give every replica and worker the same. Unset: a random one kept in NEXUS_DATA_DIR.',
    '',
    'secret',
  ),
  NEXUS_PRINCIPALS_FILE: variable('OPTIONAL', z.string().min(1).optional(), 'A JSON file with the same list as NEXUS_PRINCIPALS.'),
  RISK_OVERRIDES: variable(
    'OPTIONAL',
    z
      .string()
      .optional()
      .superRefine((text, context) => {
        if (text === undefined) return;
        try {
          parseRiskOverrides(text);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .transform((text) => (text === undefined ? [] : parseRiskOverrides(text))),
    'Per-tenant risk levels, e.g. acme/*:data.export=RED,*/*:file.delete=RED (raise only, unless RISK_ALLOW_LOWERING).',
  ),
  PORT: variable('OPTIONAL', int(0, 65535, 8000), 'HTTP port (0: any free port).', '8000'),
  HOST: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'Listen address. Default 0.0.0.0; 127.0.0.1 in development mode or with the example keys, which refuse any other.',
  ),
  NEXUS_PUBLIC_URL: variable(
    'OPTIONAL',
    z.url().optional(),
    'How share links address NEXUS from outside, e.g. https://nexus.example.com. Default: the address it listens on.',
  ),
  NEXUS_DATA_DIR: variable('OPTIONAL', z.string().min(1).default('./data'), 'Folder of the embedded event store.', './data'),
  NEXUS_WORKSPACE_DIR: variable('OPTIONAL', z.string().min(1).optional(), 'Tenant workspaces (<org>/<project> inside), the only folders file.delete may touch. Default: <NEXUS_DATA_DIR>/workspace.'),
  NEXUS_OUTBOX_DIR: variable('OPTIONAL', z.string().min(1).optional(), 'Where data.export writes its files. Default: <NEXUS_DATA_DIR>/outbox.'),
  LOG_LEVEL: variable(
    'OPTIONAL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'fatal, error, warn, info, debug, trace or silent.',
    'info',
  ),
  WORKER_CONCURRENCY: variable('OPTIONAL', int(1, 1024, 8), 'Tasks run at once by the in-process workers.', '8'),
  MAX_RETRIES: variable('OPTIONAL', int(0, 100, 3), 'Retries after a failed first attempt, then the task is dead-lettered.', '3'),
  STREAM_EVENT_KEEP: variable('OPTIONAL', int(10, 1_000_000, 2000), 'Recent reports per tenant served from memory (older ones come from the log).', '2000'),
  STREAM_WORKLOG_KEEP: variable('OPTIONAL', int(1, 100_000, 200), 'Worklog entries kept in the snapshot.', '200'),
  ASK_TTL_SECONDS: variable('OPTIONAL', int(1, 31_536_000, 86_400), 'How long a RED command waits for a decision; an approval is good for as long (a later requeue asks again).', '86400'),
  APPROVAL_FOUR_EYES: variable(
    'OPTIONAL',
    z.enum(['named', 'always', 'off']).default('named'),
    'Who may not decide their own request: named (a named principal never; the shared NEXUS_API_KEY identifies nobody, so it may), always (nobody, the shared key included) or off.',
    'named',
  ),
  RISK_ALLOW_LOWERING: variable(
    'ADVANCED',
    flag('false'),
    'Lets RISK_OVERRIDES lower a level (a RED command could then run without approval).',
    'false',
  ),
  ASK_EXPIRY_WARNING_SECONDS: variable(
    'ADVANCED',
    int(0, 31_536_000, 300),
    'An ask_expiring report goes out this long before an ask expires (never in the first half of its life).',
    '300',
  ),
  RETRY_BASE_DELAY_MS: variable('ADVANCED', int(0, 3_600_000, 1000), 'Backoff before the first retry; doubles per attempt, with jitter.', '1000'),
  RETRY_MAX_DELAY_MS: variable('ADVANCED', int(0, 86_400_000, 60_000), 'Longest backoff between attempts.', '60000'),
  TASK_TIMEOUT_SECONDS: variable('ADVANCED', int(1, 86_400, 300), 'A task running longer fails with TASK_TIMEOUT (and is retried).', '300'),
  SNAPSHOT_CHECKPOINT_EVERY: variable(
    'ADVANCED',
    int(1, 1_000_000, 1000),
    'A tenant snapshot is kept every this many of its events: time travel folds at most that many.',
    '1000',
  ),
  SSE_HEARTBEAT_SECONDS: variable(
    'ADVANCED',
    z.coerce.number().positive().max(3600).default(15),
    'Comment line sent on idle SSE streams to keep proxies from closing them.',
    '15',
  ),
  SSE_RETRY_MS: variable('ADVANCED', int(0, 600_000, 3000), 'Reconnect delay advertised to SSE clients (retry: field).', '3000'),
  SSE_STALL_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    z.coerce.number().positive().max(3600).default(30),
    'An SSE client whose buffer stays full this long is cut; it resumes by Last-Event-ID.',
    '30',
  ),
  MAX_BODY_BYTES: variable('ADVANCED', int(1024, 100 * 1024 * 1024, 1_048_576), 'Largest request body; larger ones get 413.', '1048576'),
  RATE_LIMIT_PER_SECOND: variable('ADVANCED', int(0, 1_000_000, 200), 'Requests per second per tenant (0 turns the limit off).', '200'),
  RATE_LIMIT_BURST: variable('ADVANCED', int(1, 10_000_000, 400), 'Requests a tenant may send at once above the rate.', '400'),
  AUTH_FAILURES_PER_MINUTE: variable(
    'ADVANCED',
    int(0, 1_000_000, 60),
    'Requests per minute one client address may make with a wrong or missing key, or to POST /session, before 429 (0 turns the limit off).',
    '60',
  ),
  MAX_JSON_DEPTH: variable('ADVANCED', int(2, 1000, 32), 'Deepest nesting of objects and arrays a request body may have (422 beyond).', '32'),
  TENANT_MAX_PENDING_ASKS: variable('ADVANCED', int(1, 1_000_000, 500), 'Asks one tenant may have waiting for a decision; another RED command gets 429.', '500'),
  TENANT_MAX_ASK_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 16 * 1024 * 1024),
    'Bytes of params one tenant\'s waiting asks may hold together; another RED command gets 429.',
    '16777216',
  ),
  TENANT_MAX_MEMORY_KEYS: variable('ADVANCED', int(1, 1_000_000, 1000), 'Keys one tenant\'s memory may hold; a memory.set of a new key beyond gets 429 (a handler\'s, MEMORY_FULL).', '1000'),
  TENANT_MAX_MEMORY_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 8 * 1024 * 1024),
    'Bytes one tenant\'s memory values may take together; a memory.set beyond gets 429 (a handler\'s, MEMORY_FULL).',
    '8388608',
  ),
  DEAD_LETTERS_KEEP: variable('ADVANCED', int(1, 1_000_000, 500), 'Dead letters a tenant\'s snapshot lists at most, newest first (older ones stay in the log).', '500'),
  SSE_MAX_CONNECTIONS: variable('ADVANCED', int(1, 10_000_000, 10_000), 'Open SSE streams this process serves at most; more get 429.', '10000'),
  SSE_MAX_CONNECTIONS_PER_TENANT: variable('ADVANCED', int(1, 10_000_000, 1000), 'Open SSE streams of one tenant at most; more get 429.', '1000'),
  SSE_MAX_CONNECTIONS_PER_KEY: variable('ADVANCED', int(1, 10_000_000, 1000), 'Open SSE streams of one key (principal) at most; more get 429.', '1000'),
  SNAPSHOT_MAX_BYTES: variable(
    'ADVANCED',
    int(1024, 1024 * 1024 * 1024, 64 * 1024 * 1024),
    'Largest snapshot NEXUS sends (the SSE snapshot event, GET /agent/snapshot); a larger one gets 503 until asks are decided or memory is freed.',
    '67108864',
  ),
  EXPENSIVE_READS_PER_KEY: variable(
    'ADVANCED',
    int(1, 1000, 2),
    'Reads that fold or scan a tenant\'s history (past snapshots, diffs, report pages, audit, spend) one key may run at once; more get 429.',
    '2',
  ),
  EXPENSIVE_READ_MS_PER_SECOND: variable(
    'ADVANCED',
    int(1, 3_600_000, 200),
    'Milliseconds of each second one key\'s reads of history may take on average (a burst of one second\'s worth); past it they get 429. 3600000 turns the limit off.',
    '200',
  ),
  OUTBOX_MAX_BYTES_PER_TENANT: variable(
    'ADVANCED',
    int(1024, Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024),
    'Bytes one tenant\'s outbox (exports and share packages) may hold; an export or share beyond fails with OUTBOX_FULL.',
    '1073741824',
  ),
  OUTBOX_RETENTION_HOURS: variable('ADVANCED', int(1, 87_600, 168), 'Exports older than this, and expired share packages, are deleted from the outbox.', '168'),
  EVENTSTORE_URL: variable(
    'OPTIONAL',
    z.string().regex(/^(esdb|kurrentdb|kdb)(\+discover)?:\/\//, 'must be an esdb:// (or kurrentdb://) connection string').optional(),
    'Distributed mode: the event log in EventStoreDB / KurrentDB, e.g. esdb://eventstore:2113?tls=false.',
    '',
    'url',
  ),
  DATABASE_URL: variable(
    'OPTIONAL',
    z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string').optional(),
    'Distributed mode: the event log in PostgreSQL, e.g. postgres://nexus@127.0.0.1:5432/nexus. Ignored when EVENTSTORE_URL is set.',
    '',
    'url',
  ),
  RABBITMQ_URL: variable(
    'OPTIONAL',
    z.string().regex(/^amqps?:\/\//, 'must be an amqp:// connection string').optional(),
    'Distributed mode: tasks go to worker processes (npm run worker) through RabbitMQ, e.g. amqp://guest:guest@127.0.0.1:5672/. Unset: in-process workers.',
    '',
    'url',
  ),
  REDIS_URL: variable(
    'OPTIONAL',
    z.string().regex(/^rediss?:\/\//, 'must be a redis:// connection string').optional(),
    'Distributed mode: new-position fan-out between replicas, task leases, shared rate limits, e.g. redis://127.0.0.1:6379/0.',
    '',
    'url',
  ),
  TASK_QUEUE: variable('OPTIONAL', z.string().min(1).default('nexus.tasks'), 'RabbitMQ queue of tasks to run (durable, quorum).', 'nexus.tasks'),
  DLQ_QUEUE: variable('OPTIONAL', z.string().min(1).default('nexus.dlq'), 'RabbitMQ queue of dead-lettered tasks (durable, quorum).', 'nexus.dlq'),
  TASK_TTL_SECONDS: variable('OPTIONAL', int(60, 31_536_000, 604_800), 'Accepted for the original guide\'s .env; no effect: tasks live in the event log, not in Redis (leases last TASK_LOCK_TTL_SECONDS).', '604800'),
  AUTO_REQUEUE_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('PROVIDER_TIMEOUT,PROVIDER_UPSTREAM_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes are requeued (at most AUTO_REQUEUE_MAX times).',
    'PROVIDER_TIMEOUT,PROVIDER_UPSTREAM_ERROR',
  ),
  AUTO_HOLD_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('SCHEMA_PARSE_ERROR,SCHEMA_VALIDATION_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes are held for an admin to requeue or discard (BUDGET_EXCEEDED always is).',
    'SCHEMA_PARSE_ERROR,SCHEMA_VALIDATION_ERROR',
  ),
  AUTO_ALARM_FAILURE_CODES: variable(
    'ADVANCED',
    z.string().default('PROVIDER_AUTH_ERROR').transform(codeList),
    'Dead-lettered tasks with these failure codes raise an alarm (and are held).',
    'PROVIDER_AUTH_ERROR',
  ),
  AUTO_REQUEUE_MAX: variable('ADVANCED', int(0, 100, 3), 'How many times triage requeues one task before holding it.', '3'),
  TASK_LOCK_TTL_SECONDS: variable('ADVANCED', int(1, 86_400, 900), 'A worker\'s lease on a task; renewed while it works, so a dead worker\'s task is free again this long after.', '900'),
  WORKER_HEARTBEAT_SECONDS: variable('ADVANCED', int(1, 3600, 5), 'How often a worker process says it is alive; three missed beats and it has left.', '5'),
  RABBITMQ_PREFETCH: variable('ADVANCED', int(1, 10_000, 32), 'Unacknowledged tasks a worker process holds at once.', '32'),
  RABBITMQ_DELIVERY_LIMIT: variable(
    'ADVANCED',
    int(1, 1_000_000, 20),
    'Deliveries of one task message before RabbitMQ moves it to DLQ_QUEUE, where the supervisor recovers its task from the log. Set when the queues are first declared.',
    '20',
  ),
  SMTP_HOST: variable('OPTIONAL', z.string().min(1).optional(), 'SMTP server for email.send. Unset: approved emails fail with HANDLER_UNAVAILABLE.'),
  SMTP_PORT: variable('OPTIONAL', int(1, 65535, 587), 'SMTP port.', '587'),
  SMTP_SECURE: variable(
    'OPTIONAL',
    flag('false'),
    'true: TLS from the first byte (port 465); false: STARTTLS when the server offers it.',
    'false',
  ),
  SMTP_USER: variable('OPTIONAL', z.string().min(1).optional(), 'SMTP user, when the server wants one.'),
  SMTP_PASSWORD: variable('OPTIONAL', z.string().min(1).optional(), 'SMTP password.', '', 'secret'),
  SMTP_FROM: variable('OPTIONAL', z.string().min(3).default('nexus@localhost'), 'Sender of email.send messages.', 'nexus@localhost'),
  PAYMENT_WEBHOOK_URL: variable('OPTIONAL', z.url().optional(), 'Where payment.execute posts approved payments (with an Idempotency-Key). Unset: they fail with HANDLER_UNAVAILABLE.', '', 'url'),
  PAYMENT_WEBHOOK_SECRET: variable('OPTIONAL', secret, 'Signs each payment request body (HMAC-SHA256 hex in x-nexus-signature).', '', 'secret'),
  PAYMENT_TIMEOUT_SECONDS: variable('ADVANCED', int(1, 600, 30), 'How long the payment webhook may take to answer (then the attempt is retried).', '30'),
  LLM_PRIMARY_PROVIDER: variable('OPTIONAL', providerName.optional(), 'The LLM provider llm.complete and llm.extract try first: anthropic, openai, gemini or zai.'),
  LLM_FALLBACK_PROVIDERS: variable(
    'OPTIONAL',
    z
      .string()
      .default('')
      .transform(codeList)
      .pipe(z.array(providerName)),
    'Providers tried next, in order, e.g. gemini,openai.',
  ),
  LLM_REQUIRED: variable(
    'OPTIONAL',
    flag('false'),
    'true: NEXUS refuses to start without a configured LLM provider.',
    'false',
  ),
  ANTHROPIC_API_KEY: apiKeyOf('Anthropic'),
  ANTHROPIC_MODEL: modelOf('Anthropic', 'claude-sonnet-4-5-20250929'),
  ANTHROPIC_BASE_URL: baseUrlOf('Anthropic'),
  OPENAI_API_KEY: apiKeyOf('OpenAI'),
  OPENAI_MODEL: modelOf('OpenAI', 'gpt-4'),
  OPENAI_BASE_URL: baseUrlOf('OpenAI'),
  GEMINI_API_KEY: apiKeyOf('Google Gemini'),
  GEMINI_MODEL: modelOf('Google Gemini', 'gemini-3-flash-preview'),
  GEMINI_BASE_URL: baseUrlOf('Google Gemini'),
  ZAI_API_KEY: apiKeyOf('Z.ai'),
  ZAI_MODEL: modelOf('Z.ai', 'glm-4.6'),
  ZAI_BASE_URL: variable('ADVANCED', z.url().default('https://api.z.ai/api/paas/v4'), 'Z.ai API base URL (OpenAI-compatible).', 'https://api.z.ai/api/paas/v4'),
  LLM_TIMEOUT_SECONDS: variable('ADVANCED', int(1, 3600, 60), 'How long one LLM call may take (then PROVIDER_TIMEOUT).', '60'),
  LLM_BUDGET_DAILY_USD: variable(
    'OPTIONAL',
    z.coerce.number().positive().optional(),
    'Daily LLM spend per tenant, in USD; a call that could take it past is not made (BUDGET_EXCEEDED, held). Unset: no budget.',
  ),
  LLM_AUDIT_ENABLED: variable(
    'OPTIONAL',
    flag('true'),
    'Record every LLM call (tokens, cost, latency, provider, model) as an event; GET /finops sums them.',
    'true',
  ),
  LLM_PRICES: variable(
    'ADVANCED',
    z
      .string()
      .optional()
      .transform((text, context) => {
        if (text === undefined) return {};
        try {
          return pricesSchema.parse(JSON.parse(text));
        } catch (error) {
          context.addIssue({ code: 'custom', message: `not a price table: ${(error as Error).message}` });
          return z.NEVER;
        }
      }),
    'Prices per model in USD per million tokens, as JSON: {"model":{"input_per_mtok":3,"output_per_mtok":15}}; added to the built-in table.',
  ),
  BREAKER_WINDOW_SECONDS: variable('ADVANCED', int(1, 86_400, 300), 'A provider\'s failures are counted over this window.', '300'),
  BREAKER_FAIL_THRESHOLD: variable('ADVANCED', int(1, 1000, 5), 'Failures within the window that open the provider\'s circuit breaker.', '5'),
  BREAKER_COOLDOWN_SECONDS: variable('ADVANCED', int(1, 86_400, 120), 'How long an open breaker waits before it lets one call through (half-open).', '120'),
  YOUTUBE_API_KEY: variable('OPTIONAL', z.string().min(1).optional(), 'YouTube Data API v3 key for youtube.search (sent in the x-goog-api-key header, never in a URL). Unset: youtube.search fails with HANDLER_UNAVAILABLE.', '', 'secret'),
  YOUTUBE_DEFAULT_REGION: variable('OPTIONAL', z.string().regex(/^[A-Za-z]{2}$/, 'must be a two-letter region code').optional(), 'regionCode for youtube.search when the command gives none, e.g. KR.'),
  YOUTUBE_DEFAULT_LANGUAGE: variable('OPTIONAL', z.string().min(2).max(16).optional(), 'relevanceLanguage for youtube.search when the command gives none, e.g. ko.'),
  YOUTUBE_BASE_URL: variable('ADVANCED', z.url().default('https://www.googleapis.com/youtube/v3'), 'Where the YouTube Data API is (a proxy, or a test server).', 'https://www.googleapis.com/youtube/v3'),
  RAG_AUTO_INGEST_ENABLED: variable(
    'OPTIONAL',
    flag('false'),
    'Ingest RAG_AUTO_INGEST_PATH every day at RAG_AUTO_INGEST_HOUR:RAG_AUTO_INGEST_MINUTE (changed files only).',
    'false',
  ),
  RAG_AUTO_INGEST_TENANT: variable(
    'OPTIONAL',
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be org/project').default('default/nexus'),
    'The tenant (org/project) whose index the daily ingest fills.',
    'default/nexus',
  ),
  RAG_AUTO_INGEST_PATH: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'The folder rag.ingest reads (text and markdown files), e.g. /data/gdrive_mirror: each tenant reads only its <org>/<project> folder inside it, but for RAG_WHOLE_FOLDER_TENANTS.',
  ),
  RAG_WHOLE_FOLDER_TENANTS: variable(
    'OPTIONAL',
    z
      .string()
      .optional()
      .transform((text) => (text === undefined ? undefined : codeList(text)))
      .pipe(z.array(z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})\/(\*|[A-Za-z0-9][A-Za-z0-9._-]{0,63})$/, 'must list org/project (* allowed)')).optional()),
    'Tenants (org/project, * allowed, comma-separated) whose rag.ingest reads the whole RAG_AUTO_INGEST_PATH. Default: RAG_AUTO_INGEST_TENANT.',
  ),
  RAG_AUTO_INGEST_HOUR: variable('OPTIONAL', int(0, 23, 3), 'Hour (local time) of the daily ingest.', '3'),
  RAG_AUTO_INGEST_MINUTE: variable('OPTIONAL', int(0, 59, 0), 'Minute of the daily ingest.', '0'),
  SHUTDOWN_TIMEOUT_SECONDS: variable('ADVANCED', z.coerce.number().nonnegative().max(600).default(10), 'On SIGTERM, how long running tasks may finish.', '10'),
} satisfies Record<string, Variable>;

type Variables = typeof variables;
type Parsed = { readonly [K in keyof Variables]: z.output<Variables[K]['schema']> };

export interface Config extends Omit<Parsed, 'HOST' | 'NEXUS_WORKSPACE_DIR' | 'NEXUS_OUTBOX_DIR' | 'RAG_WHOLE_FOLDER_TENANTS'> {
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
    else problems.push(`${name}: ${result.error.issues.map((i) => i.message).join('; ')} (got ${shownValue(raw, (spec as Variable).shown)})`);
  }
  const values = parsed as Parsed;
  const principals = [
    ...readPrincipals('NEXUS_PRINCIPALS', values.NEXUS_PRINCIPALS, problems),
    ...readPrincipals('NEXUS_PRINCIPALS_FILE', values.NEXUS_PRINCIPALS_FILE && readFile(values.NEXUS_PRINCIPALS_FILE, problems), problems),
  ];
  // Any configured key turns authentication on: a key that is set is never silently ignored.
  const developmentMode = values.NEXUS_API_KEY === undefined && values.ADMIN_API_KEY === undefined && principals.length === 0;
  // The keys printed in .env.example are public: with them, NEXUS stays on this machine.
  const exampleKey = [values.NEXUS_API_KEY, values.ADMIN_API_KEY].find((key) => key !== undefined && EXAMPLE_KEYS.has(key));
  const host = values.HOST ?? (developmentMode || exampleKey ? '127.0.0.1' : '0.0.0.0');
  if (problems.length === 0 && developmentMode && !isLoopback(host)) {
    problems.push(`HOST: ${host} is not a loopback address; set NEXUS_API_KEY (or ADMIN_API_KEY, or principals) to serve beyond this machine`);
  }
  if (problems.length === 0 && exampleKey && !isLoopback(host)) {
    problems.push(`HOST: ${host} is not a loopback address, and ${exampleKey === values.NEXUS_API_KEY ? 'NEXUS_API_KEY' : 'ADMIN_API_KEY'} is the example key of .env.example; choose your own keys`);
  }
  const providerKeys = [values.ANTHROPIC_API_KEY, values.OPENAI_API_KEY, values.GEMINI_API_KEY, values.ZAI_API_KEY];
  if (problems.length === 0 && values.LLM_REQUIRED && providerKeys.every((key) => key === undefined)) {
    problems.push('LLM_REQUIRED: true, but no LLM provider is configured; set LLM_PRIMARY_PROVIDER and its API key (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY or ZAI_API_KEY), or LLM_REQUIRED=false');
  }
  if (problems.length === 0 && values.NEXUS_API_KEY !== undefined && values.NEXUS_API_KEY === values.ADMIN_API_KEY) {
    problems.push('ADMIN_API_KEY: must differ from NEXUS_API_KEY');
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

/** A bad value as an error message may show it: secrets by their length only, URLs without their password. */
function shownValue(raw: string | undefined, shown: Variable['shown']): string {
  if (raw === undefined || shown === undefined) return JSON.stringify(raw);
  if (shown === 'secret') return `a value of ${raw.length} characters`;
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return JSON.stringify(url.toString());
  } catch {
    return `a value of ${raw.length} characters that is not a URL`;
  }
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
