// docker-compose.nexus.yml, the Dockerfile and .dockerignore, checked statically. There is no
// Docker engine where the tests run, so `docker compose -f docker-compose.nexus.yml config`
// (which would also validate the schema and the interpolation) cannot be used: the rules below
// read the files instead. Each rule returns its problems; the real files must have none, and
// every mutation at the end must produce one, so a file that lost a property fails the test.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { variables } from '../../src/config/variables.js';

type Scalar = string | number | boolean | null;
interface Service {
  image?: string;
  build?: unknown;
  container_name?: string;
  command?: string | string[];
  restart?: string;
  mem_limit?: Scalar;
  scale?: number;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  deploy?: { replicas?: number; resources?: { limits?: { memory?: Scalar } } };
  networks?: string[] | Record<string, unknown>;
  depends_on?: string[] | Record<string, { condition?: string } | null>;
  environment?: string[] | Record<string, Scalar>;
  env_file?: string | (string | { path: string })[];
  ports?: (string | number | { target?: number; published?: number | string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}
interface Compose {
  services?: Record<string, Service>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
}
interface Known {
  /** Every variable src/config/ reads, with the schema it parses the value with. */
  readonly config: Readonly<Record<string, { schema: { safeParse(value: unknown): { success: boolean } } }>>;
  /** The variables `.env.example` lists (commented out or not). */
  readonly example: ReadonlySet<string>;
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const SERVICES = ['eventstore', 'redis', 'rabbitmq', 'nexus-supervisor', 'nexus-worker'];
const NEXUS = ['nexus-supervisor', 'nexus-worker'];
/** What the NEXUS services connect to: the variable, the compose service it must name, its port. */
const BACKENDS = {
  EVENTSTORE_URL: ['eventstore', '2113'],
  RABBITMQ_URL: ['rabbitmq', '5672'],
  REDIS_URL: ['redis', '6379'],
} as const;
/** The folder each service keeps its data in, which must be a named volume. */
const DATA = {
  eventstore: '/var/lib/eventstore',
  redis: '/data',
  rabbitmq: '/var/lib/rabbitmq',
  'nexus-supervisor': '/data',
  'nexus-worker': '/data',
};
/** A 4 GB machine, less room for the kernel and Docker itself. */
const MEMORY_BUDGET = 3.5 * 1024 ** 3;
const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

function memoryBytes(value: Scalar | undefined): number | undefined {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(String(value ?? '').trim());
  return match ? Number(match[1]) * UNITS[match[2]!.toLowerCase()]! : undefined;
}

const memoryLimit = (s: Service) => memoryBytes(s.deploy?.resources?.limits?.memory ?? s.mem_limit ?? undefined);
const replicas = (s: Service) => s.deploy?.replicas ?? s.scale ?? 1;
const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command.join(' ') : (s.command ?? ''));
const networksOf = (s: Service) => (Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {}));
const envFiles = (s: Service) => [s.env_file ?? []].flat().map((f) => (typeof f === 'string' ? f : f.path));

function environmentOf(s: Service): Map<string, string> {
  if (Array.isArray(s.environment)) {
    return new Map(
      s.environment.map((line) => [line.split('=')[0]!, line.includes('=') ? line.slice(line.indexOf('=') + 1) : '']),
    );
  }
  return new Map(Object.entries(s.environment ?? {}).map(([name, value]) => [name, String(value ?? '')]));
}

function dependencies(s: Service): [string, string | undefined][] {
  if (Array.isArray(s.depends_on)) return s.depends_on.map((name) => [name, undefined]);
  return Object.entries(s.depends_on ?? {}).map(([name, spec]) => [name, spec?.condition]);
}

function mounts(s: Service): { source: string; target: string; named: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = ''] = typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? ''];
    const bind = typeof v === 'object' ? v.type !== 'volume' : target === '' || /^[./~$]/.test(source);
    return { source, target, named: !bind };
  });
}

function published(s: Service): { published: string; target: string }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { published: String(p.published ?? ''), target: String(p.target ?? '') };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return { published: parts.length > 1 ? parts.at(-2)! : '', target: parts.at(-1)! };
  });
}

function serviceProblems(name: string, s: Service, all: Record<string, Service>): string[] {
  const problems: string[] = [];
  const raw = s.healthcheck?.test;
  const test = typeof raw === 'string' ? ['CMD-SHELL', raw] : (raw ?? []);
  if (
    s.healthcheck?.disable === true ||
    !['CMD', 'CMD-SHELL'].includes(test[0] ?? '') ||
    test.slice(1).join('').trim() === ''
  ) {
    problems.push(`${name}: no healthcheck command`);
  }
  if (s.restart !== 'unless-stopped') problems.push(`${name}: restart is ${s.restart}, not unless-stopped`);
  if (memoryLimit(s) === undefined) problems.push(`${name}: no memory limit`);
  if (!networksOf(s).includes('nexus')) problems.push(`${name}: not on the nexus network`);
  for (const [dependency, condition] of dependencies(s)) {
    if (!(dependency in all)) problems.push(`${name}: depends on ${dependency}, which is no service`);
    if (condition !== 'service_healthy')
      problems.push(`${name}: waits for ${dependency} to be ${condition ?? 'started'}, not healthy`);
  }
  const data = DATA[name as keyof typeof DATA];
  if (data && !mounts(s).some((m) => m.named && m.target === data))
    problems.push(`${name}: ${data} is not on a named volume`);
  return problems;
}

function environmentProblems(name: string, s: Service, all: Record<string, Service>, known: Known): string[] {
  const problems: string[] = [];
  const env = environmentOf(s);
  if (!envFiles(s).includes('.env')) problems.push(`${name}: does not read the user's .env`);
  for (const [variable, value] of env) {
    const spec = known.config[variable];
    if (!spec) problems.push(`${name}: sets ${variable}, which src/config/ does not read`);
    if (!known.example.has(variable)) problems.push(`${name}: sets ${variable}, which .env.example does not list`);
    const interpolated = /^\$\{([A-Z0-9_]+)/.exec(value);
    if (interpolated && interpolated[1] !== variable)
      problems.push(`${name}: ${variable} is read from \${${interpolated[1]}}`);
    if (!interpolated && spec && !spec.schema.safeParse(value).success)
      problems.push(`${name}: ${variable}=${value} is not valid`);
  }
  for (const key of ['NEXUS_API_KEY', 'ADMIN_API_KEY']) {
    if (!env.get(key)?.startsWith(`\${${key}:?`))
      problems.push(`${name}: ${key} must come from .env as \${${key}:?message}`);
  }
  for (const [variable, [host, port]] of Object.entries(BACKENDS)) {
    const text = env.get(variable) ?? '';
    const url = URL.canParse(text) ? new URL(text) : undefined;
    if (url?.hostname !== host || url.port !== port)
      problems.push(`${name}: ${variable} does not point at ${host}:${port}`);
    if (!(host in all)) problems.push(`${name}: ${variable} names ${host}, which is no service`);
    if (!dependencies(s).some(([d]) => d === host)) problems.push(`${name}: does not wait for ${host}`);
  }
  const dataDir = env.get('NEXUS_DATA_DIR');
  if (!mounts(s).some((m) => m.named && m.target === dataDir))
    problems.push(`${name}: NEXUS_DATA_DIR ${dataDir} is not on a named volume`);
  return problems;
}

function composeProblems(compose: Compose, known: Known): string[] {
  const services = compose.services ?? {};
  const problems = SERVICES.filter((name) => !(name in services)).map((name) => `missing service ${name}`);
  if (!compose.networks || !('nexus' in compose.networks)) problems.push('no nexus network declared');
  let memory = 0;
  for (const [name, s] of Object.entries(services)) {
    problems.push(...serviceProblems(name, s, services));
    memory += (memoryLimit(s) ?? 0) * replicas(s);
    for (const m of mounts(s)) {
      if (!m.named) problems.push(`${name}: ${m.source} is not a named volume`);
      else if (!(m.source in (compose.volumes ?? {}))) problems.push(`${name}: volume ${m.source} is not declared`);
    }
  }
  if (memory > MEMORY_BUDGET) problems.push(`memory limits add up to ${(memory / 1024 ** 3).toFixed(2)} GiB`);
  for (const name of NEXUS.filter((n) => n in services))
    problems.push(...environmentProblems(name, services[name]!, services, known));
  const supervisor = services['nexus-supervisor'];
  if (supervisor && !published(supervisor).some((p) => p.published === '8000' && p.target === '8000'))
    problems.push('supervisor: 8000 not published');
  if (supervisor && !/\bdist\/src\/main\/supervisor-main\.js\b/.test(commandOf(supervisor)))
    problems.push('supervisor: does not run dist/src/main/supervisor-main.js');
  const worker = services['nexus-worker'];
  if (worker && !/\bdist\/src\/main\/worker-main\.js\b/.test(commandOf(worker)))
    problems.push('worker: does not run dist/src/main/worker-main.js');
  if (worker && worker.deploy?.replicas !== 2) problems.push('worker: not 2 replicas');
  if (worker?.container_name !== undefined) problems.push('worker: a container_name cannot be replicated');
  return problems;
}

function dockerfileProblems(text: string): string[] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const froms = instructions.filter((line) => /^FROM\s/i.test(line)).map((line) => line.split(/\s+/));
  const stages = new Set(froms.map((f) => f[3]?.toLowerCase()));
  const bases = new Set(froms.map((f) => f[1]!).filter((image) => !stages.has(image.toLowerCase())));
  const finalStage = instructions.slice(instructions.findLastIndex((line) => /^FROM\s/i.test(line)));
  const user = finalStage.findLast((line) => /^USER\s/i.test(line))?.split(/\s+/)[1];
  const problems: string[] = [];
  if (froms.length < 2) problems.push('Dockerfile: not multi-stage');
  if (bases.size !== 1)
    problems.push(
      `Dockerfile: stages start from different images (${[...bases].join(', ')}), so the native addon may not match`,
    );
  if (user === undefined || /^(root|0)(:|$)/.test(user))
    problems.push(`Dockerfile: the final stage runs as ${user ?? 'root'}`);
  if (!finalStage.some((line) => /^ENV\s.*\bNODE_ENV=production\b/i.test(line)))
    problems.push('Dockerfile: NODE_ENV is not production');
  if (!instructions.some((line) => /^RUN\s.*\bnpm run build\b/.test(line)))
    problems.push('Dockerfile: npm run build (the server and the dashboard) never runs');
  for (const folder of ['src', 'web', 'scripts']) {
    if (!instructions.some((line) => new RegExp(`^COPY\\s+${folder}/?\\s`).test(line)))
      problems.push(`Dockerfile: npm run build needs ${folder}/, which is not copied`);
  }
  if (!finalStage.some((line) => /^COPY\s.*\s\.\/dist\/?$/.test(line)))
    problems.push('Dockerfile: the final stage has no dist/ (the server and the dashboard)');
  for (const folder of ['web', 'src']) {
    if (finalStage.some((line) => new RegExp(`^COPY\\s.*\\s\\./${folder}/?$`).test(line)))
      problems.push(`Dockerfile: the final stage carries ${folder}/, but the dashboard is built into dist/`);
  }
  return problems;
}

function dockerignoreProblems(text: string): string[] {
  const lines = text.split('\n').map((line) =>
    line
      .trim()
      .replace(/^\/|\/$/g, '')
      .replace(/^\*\*\//, ''),
  );
  return ['node_modules', 'data', '.git', 'dist', '.env']
    .filter((entry) => !lines.includes(entry) || lines.lastIndexOf(`!${entry}`) > lines.lastIndexOf(entry))
    .map((entry) => `.dockerignore: ${entry} is not excluded`);
}

const exampleVariables = new Set([...read('.env.example').matchAll(/^(?:# )?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));
const known: Known = { config: variables, example: exampleVariables };
const compose = parse(read('docker-compose.nexus.yml')) as Compose;

describe('docker-compose.nexus.yml', () => {
  it('runs the five services, healthy, limited, restarted, on one network, kept in step with src/config/', () => {
    expect(Object.keys(compose.services ?? {}).sort()).toEqual([...SERVICES].sort());
    expect(composeProblems(compose, known)).toEqual([]);
  });

  it('runs entry points that exist in the source (dist/src/X.js is built from src/X.ts)', () => {
    const text = read('docker-compose.nexus.yml');
    const entries = [...new Set([...text.matchAll(/dist\/src\/([\w/-]+)\.js/g)].map((m) => m[1]!))];
    expect(entries.sort()).toEqual(['main/supervisor-main', 'main/worker-health-main', 'main/worker-main']);
    for (const entry of entries) expect(() => read(`src/${entry}.ts`)).not.toThrow();
  });

  it('passes only variables that .env.example documents', () => {
    const passed = NEXUS.flatMap((name) => [...environmentOf(compose.services![name]!).keys()]);
    expect(passed.filter((variable) => !exampleVariables.has(variable))).toEqual([]);
  });

  it('builds a multi-stage image that runs as an unprivileged user', () => {
    expect(dockerfileProblems(read('Dockerfile'))).toEqual([]);
  });

  it('keeps dependencies, data, history, build output and secrets out of the build context', () => {
    expect(dockerignoreProblems(read('.dockerignore'))).toEqual([]);
  });
});

type Mutation = [string, (c: Compose, k: { example: Set<string> }) => void];
const svc = (c: Compose, name: string) => c.services![name]!;
const env = (c: Compose, name: string) => svc(c, name).environment as Record<string, Scalar>;
const dependsOn = (c: Compose, name: string) => svc(c, name).depends_on as Record<string, { condition?: string }>;

const mutations: Mutation[] = [
  ['a service is missing', (c) => delete c.services!.redis],
  ['a healthcheck is gone', (c) => delete svc(c, 'rabbitmq').healthcheck],
  ['a healthcheck is switched off', (c) => (svc(c, 'eventstore').healthcheck = { test: ['NONE'] })],
  ['a restart policy differs', (c) => (svc(c, 'nexus-supervisor').restart = 'always')],
  ['a memory limit is gone', (c) => delete svc(c, 'eventstore').deploy],
  ['the limits outgrow 4 GB', (c) => (svc(c, 'eventstore').deploy = { resources: { limits: { memory: '2g' } } })],
  ['a service is off the network', (c) => (svc(c, 'nexus-worker').networks = ['default'])],
  [
    'a dependency need only be started',
    (c) => (dependsOn(c, 'nexus-supervisor').redis = { condition: 'service_started' }),
  ],
  ['dependencies are a plain list', (c) => (svc(c, 'nexus-worker').depends_on = ['eventstore', 'rabbitmq', 'redis'])],
  ['a dependency is no service', (c) => (svc(c, 'redis').depends_on = { postgres: { condition: 'service_healthy' } })],
  ['data goes to a bind mount', (c) => (svc(c, 'nexus-supervisor').volumes = ['./data:/data'])],
  ['a volume is not declared', (c) => delete c.volumes!['redis-data']],
  ['the supervisor publishes another port', (c) => (svc(c, 'nexus-supervisor').ports = ['9000:8000'])],
  [
    'the supervisor runs the worker',
    (c) => (svc(c, 'nexus-supervisor').command = ['node', 'dist/src/main/worker-main.js']),
  ],
  [
    'the worker runs the supervisor',
    (c) => (svc(c, 'nexus-worker').command = ['node', 'dist/src/main/supervisor-main.js']),
  ],
  ['one worker', (c) => (svc(c, 'nexus-worker').deploy!.replicas = 1)],
  ['a replicated worker has a container name', (c) => (svc(c, 'nexus-worker').container_name = 'nexus-worker')],
  ['a variable the config module does not read', (c) => (env(c, 'nexus-worker').NEXUS_DEBUG = 'true')],
  ['a variable .env.example does not list', (_c, k) => k.example.delete('REDIS_URL')],
  ['a value the config module refuses', (c) => (env(c, 'nexus-supervisor').PORT = 'eighty')],
  [
    'the store is not the eventstore service',
    (c) => (env(c, 'nexus-supervisor').EVENTSTORE_URL = 'esdb://localhost:2113?tls=false'),
  ],
  ['redis is on loopback', (c) => (env(c, 'nexus-worker').REDIS_URL = 'redis://127.0.0.1:6379/0')],
  ['the key has a default', (c) => (env(c, 'nexus-supervisor').NEXUS_API_KEY = 'dev-key-change-in-production')],
  ['the user .env is not read', (c) => delete svc(c, 'nexus-worker').env_file],
];

describe('a compose file that lost a property fails', () => {
  it.each(mutations)('%s', (_name, mutate) => {
    const copy = structuredClone(compose);
    const example = new Set(exampleVariables);
    mutate(copy, { example });
    expect(composeProblems(copy, { config: variables, example })).not.toEqual([]);
  });

  it.each([
    ['one stage', (t: string) => t.replace(/^FROM node:20-bookworm-slim AS runtime$/m, '')],
    ['the final stage runs as root', (t: string) => `${t}USER root\n`],
    ['no USER at all', (t: string) => t.replace(/^USER .*$/gm, '')],
    [
      'stages on different images',
      (t: string) => t.replace(/ AS runtime$/m, '').replace(/^FROM node:20-bookworm-slim$/m, 'FROM node:20-alpine'),
    ],
    ['not production', (t: string) => t.replace(/NODE_ENV=production/, 'NODE_ENV=development')],
    ['not built', (t: string) => t.replace(/npm run build/, 'npx tsc -p tsconfig.build.json')],
    ['no build script', (t: string) => t.replace(/^COPY scripts .*$/m, '')],
    ['no dist/', (t: string) => t.replace(/^COPY --from=build \/app\/dist \.\/dist$/m, '')],
    ['sources in the final stage', (t: string) => `${t}COPY --from=build /app/src ./src\n`],
    ['dashboard sources in the final stage', (t: string) => `${t}COPY --from=build /app/web ./web\n`],
  ])('Dockerfile: %s', (_name, mutate) => {
    expect(dockerfileProblems(mutate(read('Dockerfile')))).not.toEqual([]);
  });

  it.each(['node_modules', 'data', '.git', 'dist', '.env'])('.dockerignore without %s', (entry) => {
    const text = read('.dockerignore')
      .split('\n')
      .filter((line) => line !== entry)
      .join('\n');
    expect(dockerignoreProblems(text)).not.toEqual([]);
  });
});
