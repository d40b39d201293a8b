import { z } from 'zod';
import { flag, int, variable, type Variable } from './variable.js';

/** Where NEXUS listens and keeps its data, and how it paces its work. */
export const serverVariables = {
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
  NEXUS_DATA_DIR: variable(
    'OPTIONAL',
    z.string().min(1).default('./data'),
    'Folder of the embedded event store.',
    './data',
  ),
  NEXUS_WORKSPACE_DIR: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'Tenant workspaces (<org>/<project> inside), the only folders file.delete may touch. Default: <NEXUS_DATA_DIR>/workspace.',
  ),
  NEXUS_OUTBOX_DIR: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'Where data.export writes its files. Default: <NEXUS_DATA_DIR>/outbox.',
  ),
  LOG_LEVEL: variable(
    'OPTIONAL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'fatal, error, warn, info, debug, trace or silent.',
    'info',
  ),
  WORKER_CONCURRENCY: variable('OPTIONAL', int(1, 1024, 8), 'Tasks run at once by the in-process workers.', '8'),
  MAX_RETRIES: variable(
    'OPTIONAL',
    int(0, 100, 3),
    'Retries after a failed first attempt, then the task is dead-lettered.',
    '3',
  ),
  STREAM_EVENT_KEEP: variable(
    'OPTIONAL',
    int(10, 1_000_000, 2000),
    'Recent reports per tenant served from memory (older ones come from the log).',
    '2000',
  ),
  STREAM_WORKLOG_KEEP: variable('OPTIONAL', int(1, 100_000, 200), 'Worklog entries kept in the snapshot.', '200'),
  ASK_TTL_SECONDS: variable(
    'OPTIONAL',
    int(1, 31_536_000, 86_400),
    'How long a RED command waits for a decision; an approval is good for as long (a later requeue asks again).',
    '86400',
  ),
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
  RETRY_BASE_DELAY_MS: variable(
    'ADVANCED',
    int(0, 3_600_000, 1000),
    'Backoff before the first retry; doubles per attempt, with jitter.',
    '1000',
  ),
  RETRY_MAX_DELAY_MS: variable('ADVANCED', int(0, 86_400_000, 60_000), 'Longest backoff between attempts.', '60000'),
  TASK_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    int(1, 86_400, 300),
    'A task running longer fails with TASK_TIMEOUT (and is retried).',
    '300',
  ),
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
  SSE_RETRY_MS: variable(
    'ADVANCED',
    int(0, 600_000, 3000),
    'Reconnect delay advertised to SSE clients (retry: field).',
    '3000',
  ),
  SSE_STALL_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    z.coerce.number().positive().max(3600).default(30),
    'An SSE client whose buffer stays full this long is cut; it resumes by Last-Event-ID.',
    '30',
  ),
  SHUTDOWN_TIMEOUT_SECONDS: variable(
    'ADVANCED',
    z.coerce.number().nonnegative().max(600).default(10),
    'On SIGTERM, how long running tasks may finish.',
    '10',
  ),
} satisfies Record<string, Variable>;
