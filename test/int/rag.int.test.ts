import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInCatalog } from '../../src/catalog/built-in.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { ragIngest, ragQuery } from '../../src/catalog/commands/rag.js';
import type { HandlerContext } from '../../src/catalog/define-command.js';
import { handlerContext } from '../support/handler-context.js';
import type { Tenant } from '../../src/events/tenant.js';
import { nextRunAt } from '../../src/rag/daily-schedule.js';
import { chunkText } from '../../src/rag/chunk-text.js';
import { matchExpression, RagIndex, ragIndexFile, type Passage } from '../../src/rag/rag-index.js';
import { startTestNexus } from '../support/nexus.js';

const tenant: Tenant = { org_id: 'rag', project_id: 'p' };

const bread = [
  '# Sourdough bread',
  'A sourdough starter is a culture of wild yeast and lactic acid bacteria living in flour and water. Feed the starter twice a day with equal weights of flour and water, and keep it at room temperature, so it stays lively and doubles within six hours of a feeding.',
  'Hydration is the weight of water divided by the weight of flour. A loaf at seventy percent hydration is easy to shape; above eighty percent the dough gets slack and needs coil folds during the bulk fermentation.',
  'Bulk fermentation ends when the dough has risen by half and shows bubbles on the sides of the container. Then shape a boule or a batard, and proof it overnight in the fridge in a floured banneton.',
  'Bake in a preheated Dutch oven at 250 degrees, twenty minutes with the lid on to trap steam, then twenty-five minutes with the lid off until the crust is deep brown. Let the loaf cool for an hour before slicing it.',
].join('\n\n');
const tomatoes =
  'Tomato plants want deep watering twice a week rather than a little every day.\n\nPinch out the suckers that grow between the stem and the branches. Early blight shows as brown rings on the lower leaves: remove them and mulch the soil.';
const astronomy =
  '# Moons of Jupiter\n\nGalileo saw the four largest moons of Jupiter through his telescope in 1610: Io, Europa, Ganymede and Callisto. Io has active volcanoes; Europa hides an ocean under its ice.';
const bees =
  'Honeybees carry pollen from flower to flower: pollination of orchards depends on them. A strong hive holds fifty thousand workers in summer.';

let root: string;
let outside: string;
let indexDir: string;

beforeAll(() => {
  const base = mkdtempSync(join(tmpdir(), 'nexus-rag-'));
  root = join(base, 'docs');
  outside = join(base, 'outside');
  indexDir = join(base, 'index');
  mkdirSync(join(root, 'garden', 'deep'), { recursive: true });
  mkdirSync(join(root, '.obsidian'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(root, 'bread.md'), bread);
  writeFileSync(join(root, 'astronomy.md'), astronomy);
  writeFileSync(join(root, 'garden', 'tomatoes.txt'), tomatoes);
  writeFileSync(join(root, 'garden', 'deep', 'bees.md'), bees);
  writeFileSync(join(root, 'notes.pdf'), 'sourdough quasar zeppelin'); // not .md/.txt: ignored
  writeFileSync(join(root, 'photo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]));
  writeFileSync(join(root, 'broken.txt'), Buffer.from('zeppelin\0\0\0binary')); // NUL bytes: not text
  writeFileSync(join(root, '.obsidian', 'workspace.md'), 'zeppelin');
  writeFileSync(join(outside, 'secret.md'), 'The exfiltrate password is hunter2.');
  symlinkSync(join(outside, 'secret.md'), join(root, 'leak.md')); // a file link leading out
  symlinkSync(outside, join(root, 'elsewhere')); // a folder link leading out
  symlinkSync(join(root, 'garden', 'deep', 'bees.md'), join(root, 'garden', 'same-bees.md')); // inside: indexed once
});
afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }));

function withIndex<T>(use: (index: RagIndex) => T): T {
  const index = RagIndex.open(ragIndexFile(indexDir, tenant));
  try {
    return use(index);
  } finally {
    index.close();
  }
}
const search = (text: string, limit = 5): Passage[] => withIndex((index) => index.query(text, limit));
async function ingest(under?: string) {
  const index = RagIndex.open(ragIndexFile(indexDir, tenant));
  try {
    return await index.ingest(root, under === undefined ? {} : { under });
  } finally {
    index.close();
  }
}

describe('the RAG index', () => {
  it('indexes the .md and .txt files of the folder and its subfolders, refusing links that lead out', async () => {
    const counts = await ingest();
    // seen: the four documents and broken.txt; skipped: broken.txt (NUL bytes) and the two links leading out
    expect(counts).toMatchObject({
      files_seen: 5,
      files_indexed: 4,
      files_unchanged: 0,
      files_removed: 0,
      files_skipped: 3,
    });
    expect(counts.chunks_indexed).toBeGreaterThanOrEqual(5); // bread.md is more than one passage
    expect(search('exfiltrate password')).toEqual([]);
    expect(search('zeppelin quasar')).toEqual([]);
    expect(search('pollination hive').map((p) => p.path)).toEqual(['garden/deep/bees.md']);
  });

  it.each([
    ['how do I keep my sourdough starter alive', 'bread.md'],
    ['brown rings on tomato leaves', 'garden/tomatoes.txt'],
    ['which moons did Galileo see', 'astronomy.md'],
    ['bees and orchards', 'garden/deep/bees.md'],
    ['Dutch oven crust', 'bread.md'],
  ])('ranks the right passage first for "%s"', (query, path) => {
    const passages = search(query);
    expect(passages[0]?.path).toBe(path);
    expect(passages.map((p) => p.score)).toEqual([...passages.map((p) => p.score)].sort((a, b) => b - a));
  });

  it('answers the passage itself, a score, and a snippet with the matched terms marked', () => {
    const [best] = search('Dutch oven', 1);
    expect(best).toMatchObject({ path: 'bread.md' });
    expect(best!.text).toContain('Bake in a preheated Dutch oven');
    expect(best!.text).not.toContain('# Sourdough bread');
    expect(best!.score).toBeGreaterThan(0);
    expect(best!.snippet).toContain('**Dutch** **oven**');
  });

  it('matches word forms (stemming) and respects the limit', () => {
    expect(search('watered tomato')[0]?.path).toBe('garden/tomatoes.txt');
    expect(search('flour water dough bread', 2)).toHaveLength(2);
  });

  it('takes any user text as a query without an FTS5 syntax error', () => {
    for (const hostile of [
      '"',
      'AND OR',
      '*',
      'NEAR(',
      'NEAR(sourdough',
      'sourdough" OR "x',
      'text:starter',
      '^flour',
      '-',
      '()',
      '{}',
      "'; DROP TABLE chunks; --",
      '   ',
      'sourdough*',
    ]) {
      expect(() => search(hostile)).not.toThrow();
    }
    expect(search('"')).toEqual([]);
    expect(search('NEAR(sourdough')[0]?.path).toBe('bread.md');
    expect(matchExpression('say "hi" AND bye*')).toBe('"say" OR "hi" OR "and" OR "bye"');
  });

  it('indexes nothing again when nothing changed', async () => {
    expect(await ingest()).toMatchObject({
      files_seen: 5,
      files_indexed: 0,
      files_unchanged: 4,
      files_removed: 0,
      chunks_indexed: 0,
    });
  });

  it('indexes again only the file whose content changed, forgetting its old passages', async () => {
    writeFileSync(join(root, 'garden', 'tomatoes.txt'), 'Cucumbers climb a trellis and want even moisture.');
    expect(await ingest()).toMatchObject({ files_indexed: 1, files_unchanged: 3, chunks_indexed: 1 });
    expect(search('cucumbers trellis')[0]?.path).toBe('garden/tomatoes.txt');
    expect(search('blight suckers')).toEqual([]);
  });

  it('walks only the given subfolder, and removes nothing outside it', async () => {
    expect(await ingest('garden')).toMatchObject({ files_seen: 2, files_unchanged: 2, files_removed: 0 });
    await expect(ingest('../outside')).rejects.toMatchObject({ name: 'RagPathError', reason: 'outside' });
    await expect(ingest('elsewhere')).rejects.toMatchObject({ name: 'RagPathError', reason: 'outside' });
    await expect(ingest('nowhere')).rejects.toMatchObject({ name: 'RagPathError', reason: 'missing' });
  });

  it('forgets a file that is gone', async () => {
    rmSync(join(root, 'astronomy.md'));
    expect(await ingest()).toMatchObject({ files_seen: 4, files_indexed: 0, files_unchanged: 3, files_removed: 1 });
    expect(search('Jupiter Galileo')).toEqual([]);
    expect(search('sourdough')[0]?.path).toBe('bread.md');
  });
});

describe('chunkText', () => {
  it('keeps short paragraphs whole, cuts near 800 characters, and overlaps passages a little', () => {
    const chunks = chunkText(bread);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(800 + 120);
    for (const paragraph of bread.split('\n\n')) expect(chunks.some((c) => c.includes(paragraph))).toBe(true);
    const [first, second] = chunks;
    const carried = second!.split('\n\n')[0]!; // the end of the passage before, from a word start
    expect(first!.endsWith(carried)).toBe(true);
    expect(carried.length).toBeGreaterThan(20);
    expect(carried.length).toBeLessThanOrEqual(120);
  });

  it('splits a paragraph longer than a passage at sentences, and a huge word by force', () => {
    const sentence = 'The quick brown fox jumps over the lazy dog. ';
    const chunks = chunkText(sentence.repeat(60));
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.length <= 920 && c.endsWith('.'))).toBe(true);
    expect(chunkText('x'.repeat(2000)).map((c) => c.length)).toEqual([800, 800, 400]);
    expect(chunkText('  \n\n \r\n ')).toEqual([]);
  });
});

function context(signal = new AbortController().signal, forTenant = tenant): HandlerContext {
  return handlerContext({ tenant: forTenant, signal });
}

describe('rag.ingest and rag.query', () => {
  it('refuse to ingest without a configured folder', async () => {
    const command = ragIngest({ indexDir, wholeFolderTenants: ['rag/p'] });
    await expect(Promise.resolve(command.handler!(command.params.parse({}), context()))).rejects.toMatchObject({
      code: 'HANDLER_UNAVAILABLE',
      retryable: false,
    });
  });

  it('classify a path leading out of the folder, and a folder that is not there', async () => {
    const command = ragIngest({ folder: root, indexDir, wholeFolderTenants: ['rag/p'] });
    await expect(
      Promise.resolve(command.handler!(command.params.parse({ path: '../outside' }), context())),
    ).rejects.toMatchObject({ code: 'PATH_OUTSIDE_FOLDER' });
    await expect(
      Promise.resolve(command.handler!(command.params.parse({ path: 'nowhere' }), context())),
    ).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    const missing = ragIngest({ folder: join(root, 'unmounted'), indexDir, wholeFolderTenants: ['rag/p'] });
    await expect(Promise.resolve(missing.handler!(missing.params.parse({}), context()))).rejects.toMatchObject({
      code: 'RAG_FOLDER_UNAVAILABLE',
      retryable: true,
    });
  });

  it('keep one index per tenant', async () => {
    const other: Tenant = { org_id: 'rag', project_id: 'other' };
    const query = ragQuery({ indexDir, wholeFolderTenants: [] });
    expect(await query.handler!(query.params.parse({ query: 'sourdough' }), context(undefined, other))).toEqual({
      query: 'sourdough',
      passages: [],
    });
    expect(query.params.safeParse({ query: 'x', limit: 51 }).success).toBe(false);
  });

  it('run as commands of an embedded NEXUS', async () => {
    const settings = { folder: root, indexDir: join(indexDir, 'nexus'), wholeFolderTenants: ['rag/p'] };
    const nexus = await startTestNexus(
      {},
      { catalog: (deps) => new Catalog([...builtInCatalog(deps).list(), ragIngest(settings), ragQuery(settings)]) },
    );
    const client = await nexus.stream(tenant, { lastEventId: 0 });
    const resultOf = async (command_type: string, params: Record<string, unknown>) => {
      const response = await nexus.command(tenant, { command_type, params });
      expect(response.status).toBe(202);
      const { command_id } = (await response.json()) as { command_id: string };
      const completed = () =>
        client.reports.find((r) => r.command_id === command_id && r.report_type === 'task_completed');
      await client.until(() => completed() !== undefined);
      return completed()!.payload.result;
    };
    try {
      expect(await resultOf('rag.ingest', {})).toMatchObject({
        path: '.',
        files_seen: 4,
        files_indexed: 3,
        files_skipped: 3,
        files_removed: 0,
      });
      const { passages } = (await resultOf('rag.query', { query: 'proof overnight banneton', limit: 2 })) as {
        passages: Passage[];
      };
      expect(passages[0]).toMatchObject({ path: 'bread.md' });
      expect(passages[0]!.snippet).toContain('**banneton**');
    } finally {
      client.close();
      await nexus.stop();
    }
  });
});

describe('rag.ingest across tenants', () => {
  // <shared>/handbook.md for the whole folder; acme/web and beta/app each their own folder
  let shared: string;
  const acme: Tenant = { org_id: 'acme', project_id: 'web' };
  const beta: Tenant = { org_id: 'beta', project_id: 'app' };
  const ops: Tenant = { org_id: 'ops', project_id: 'search' };
  const settings = () => ({
    folder: shared,
    indexDir: join(shared, '..', 'tenant-index'),
    wholeFolderTenants: ['ops/*'],
  });
  const ingestAs = async (who: Tenant, params: Record<string, unknown> = {}) => {
    const command = ragIngest(settings());
    return command.handler!(command.params.parse(params), context(undefined, who));
  };
  const passagesOf = async (who: Tenant, text: string) => {
    const command = ragQuery(settings());
    const { passages } = (await command.handler!(command.params.parse({ query: text }), context(undefined, who))) as {
      passages: Passage[];
    };
    return passages.map((p) => p.path);
  };

  beforeAll(() => {
    shared = join(root, '..', 'shared');
    mkdirSync(join(shared, 'acme', 'web', 'drafts'), { recursive: true });
    mkdirSync(join(shared, 'beta', 'app'), { recursive: true });
    writeFileSync(join(shared, 'handbook.md'), 'The company handbook: holidays and the expense policy.');
    writeFileSync(join(shared, 'acme', 'web', 'launch.md'), 'The acme launch plan: a landing page and a newsletter.');
    writeFileSync(join(shared, 'acme', 'web', 'drafts', 'tagline.txt'), 'Acme tagline drafts: faster rockets.');
    writeFileSync(join(shared, 'beta', 'app', 'pricing.md'), 'Beta pricing secret: the discount code is GOLDFISH.');
    symlinkSync(join(shared, 'beta', 'app'), join(shared, 'acme', 'web', 'beta-link')); // a link into another tenant's folder
    mkdirSync(join(shared, 'gamma'));
    symlinkSync(join(shared, 'beta', 'app'), join(shared, 'gamma', 'linked')); // a tenant folder that is another's
  });

  it("read only the tenant's own folder: not another tenant's files, nor the shared root", async () => {
    expect(await ingestAs(acme)).toMatchObject({ path: '.', files_seen: 2, files_indexed: 2, files_skipped: 1 });
    expect(await passagesOf(acme, 'launch newsletter tagline')).toEqual(
      expect.arrayContaining(['launch.md', 'drafts/tagline.txt']),
    );
    expect(await passagesOf(acme, 'discount GOLDFISH pricing')).toEqual([]);
    expect(await passagesOf(acme, 'handbook holidays expense')).toEqual([]);
    for (const path of ['..', '../..', '../../beta/app', '../app', join(shared, 'beta', 'app')]) {
      await expect(ingestAs(acme, { path })).rejects.toMatchObject({ code: 'PATH_OUTSIDE_FOLDER', retryable: false });
    }
    await expect(ingestAs(acme, { path: 'beta-link' })).rejects.toMatchObject({ code: 'PATH_OUTSIDE_FOLDER' });
    expect(await ingestAs(acme, { path: 'drafts' })).toMatchObject({
      path: 'drafts',
      files_seen: 1,
      files_unchanged: 1,
    });
    expect(await ingestAs(beta)).toMatchObject({ files_seen: 1, files_indexed: 1 });
    expect(await passagesOf(beta, 'launch newsletter handbook')).toEqual([]);
  });

  it('read the whole folder for a tenant the admin granted it', async () => {
    expect(await ingestAs(ops)).toMatchObject({ files_seen: 4, files_indexed: 4 });
    expect(await passagesOf(ops, 'handbook holidays')).toEqual(['handbook.md']);
    // found once, through acme's link to it (the first way to it in name order)
    expect(await passagesOf(ops, 'discount GOLDFISH')).toEqual([expect.stringMatching(/pricing\.md$/)]);
    expect(await ingestAs(ops, { path: 'acme' })).toMatchObject({
      path: 'acme',
      files_seen: 3,
      files_unchanged: 3,
      files_removed: 0,
    });
  });

  it('fail without retries for a tenant that has no folder (or a link for one), with retries when the RAG folder itself is gone', async () => {
    await expect(ingestAs({ org_id: 'gamma', project_id: 'new' })).rejects.toMatchObject({
      code: 'RAG_TENANT_FOLDER_NOT_FOUND',
      retryable: false,
      message: expect.stringContaining('gamma/new'),
    });
    await expect(ingestAs({ org_id: 'acme', project_id: 'other' })).rejects.toMatchObject({
      code: 'RAG_TENANT_FOLDER_NOT_FOUND',
      retryable: false,
    });
    await expect(ingestAs({ org_id: 'gamma', project_id: 'linked' })).rejects.toMatchObject({
      code: 'PATH_OUTSIDE_FOLDER',
      retryable: false,
    });
    const unmounted = ragIngest({ ...settings(), folder: join(shared, 'unmounted') });
    await expect(
      Promise.resolve(unmounted.handler!(unmounted.params.parse({}), context(undefined, acme))),
    ).rejects.toMatchObject({ code: 'RAG_FOLDER_UNAVAILABLE', retryable: true });
  });

  it('follow RAG_WHOLE_FOLDER_TENANTS in an embedded NEXUS', async () => {
    const nexus = await startTestNexus({ RAG_AUTO_INGEST_PATH: shared, RAG_WHOLE_FOLDER_TENANTS: 'ops/search' });
    const results = async (who: Tenant) => {
      const client = await nexus.stream(who, { lastEventId: 0 });
      try {
        const { command_id } = (await (
          await nexus.command(who, { command_type: 'rag.ingest', params: {} })
        ).json()) as { command_id: string };
        const ended = () =>
          client.reports.find(
            (r) =>
              r.command_id === command_id &&
              (r.report_type === 'task_completed' || r.report_type === 'task_dead_lettered'),
          );
        await client.until(() => ended() !== undefined);
        return ended()!;
      } finally {
        client.close();
      }
    };
    try {
      expect((await results(acme)).payload.result).toMatchObject({ files_seen: 2 });
      expect((await results(ops)).payload.result).toMatchObject({ files_seen: 4 });
      expect((await results({ org_id: 'default', project_id: 'nexus' })).payload).toMatchObject({
        error: { code: 'RAG_TENANT_FOLDER_NOT_FOUND' },
      });
    } finally {
      await nexus.stop();
    }
  });
});

describe('nextRunAt', () => {
  const at = (y: number, m: number, d: number, h: number, mi: number, s = 0) => new Date(y, m - 1, d, h, mi, s);

  it('answers today when the time is still ahead', () => {
    expect(nextRunAt(at(2025, 6, 10, 1, 15), 3, 0)).toEqual(at(2025, 6, 10, 3, 0));
    expect(nextRunAt(at(2025, 6, 10, 2, 59, 59), 3, 0)).toEqual(at(2025, 6, 10, 3, 0));
  });

  it('answers tomorrow when the time has passed or is now', () => {
    expect(nextRunAt(at(2025, 6, 10, 3, 0), 3, 0)).toEqual(at(2025, 6, 11, 3, 0));
    expect(nextRunAt(at(2025, 6, 10, 22, 45), 3, 30)).toEqual(at(2025, 6, 11, 3, 30));
  });

  it('rolls over months, leap days and years', () => {
    expect(nextRunAt(at(2025, 1, 31, 4, 0), 3, 0)).toEqual(at(2025, 2, 1, 3, 0));
    expect(nextRunAt(at(2024, 2, 28, 23, 0), 0, 5)).toEqual(at(2024, 2, 29, 0, 5));
    expect(nextRunAt(at(2025, 2, 28, 23, 0), 0, 5)).toEqual(at(2025, 3, 1, 0, 5));
    expect(nextRunAt(at(2025, 12, 31, 23, 59), 23, 59)).toEqual(at(2026, 1, 1, 23, 59));
  });

  it('refuses an hour or minute out of range', () => {
    expect(() => nextRunAt(at(2025, 6, 10, 1, 0), 24, 0)).toThrow(RangeError);
    expect(() => nextRunAt(at(2025, 6, 10, 1, 0), 3, 60)).toThrow(RangeError);
  });
});
