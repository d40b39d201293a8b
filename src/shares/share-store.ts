import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Tenant } from '../events/tenant.js';

/** What a share link shows: who it is for, what it holds, until when. */
export interface ShareManifest {
  readonly recipient: string;
  readonly message?: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number; readonly sha256: string }>;
  readonly created_at: string;
  readonly expires_at: string;
  /** Where it came from, for the audit (not shown to the recipient). */
  readonly tenant: Tenant;
  readonly command_id: string;
}

/** How share links are made and how much of the outbox a tenant may use. */
export interface ShareStoreOptions {
  /** Signs share tokens (SESSION_SECRET, or the one kept in the data folder). */
  readonly secret: string;
  readonly limits: OutboxLimits;
}

/** A tenant's share of the outbox: exports and share packages. */
export interface OutboxLimits {
  /** OUTBOX_MAX_BYTES_PER_TENANT */
  readonly maxBytesPerTenant: number;
  /** OUTBOX_RETENTION_HOURS, in ms: older exports (and expired shares) are deleted. */
  readonly retentionMs: number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const FILE_NAME = /^[^/\\\0]{1,255}$/;

/**
 * Share packages in the outbox (`<outbox>/shares/<sha-256 of the token>/`): a manifest and
 * copies of the files. The token, which the link carries, is stored nowhere: only its hash
 * names the folder, so the outbox alone does not give the links away.
 */
export class ShareStore {
  constructor(
    private readonly outboxDir: string,
    private readonly options: ShareStoreOptions,
  ) {}

  async create(input: Omit<ShareManifest, 'files'> & { files: ReadonlyArray<{ source: string }> }): Promise<{ token: string; manifest: ShareManifest }> {
    const token = randomBytes(32).toString('base64url');
    const folder = this.folder(token);
    await mkdir(join(folder, 'files'), { recursive: true });
    const files = [];
    const taken = new Set<string>();
    for (const { source } of input.files) {
      let name = basename(source);
      for (let n = 2; taken.has(name); n++) name = `${n}-${basename(source)}`;
      taken.add(name);
      await copyFile(source, join(folder, 'files', name));
      const content = await readFile(join(folder, 'files', name));
      files.push({ name, bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    }
    const manifest: ShareManifest = { ...input, files };
    await writeFile(join(folder, '.manifest.json.partial'), JSON.stringify(manifest, null, 2));
    await rename(join(folder, '.manifest.json.partial'), join(folder, 'manifest.json'));
    return { token, manifest };
  }

  /** The share behind a token: `undefined` when there is none. */
  async open(token: string): Promise<ShareManifest | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const text = await readFile(join(this.folder(token), 'manifest.json'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as ShareManifest);
  }

  /** The path of one file of a share, if it has it. */
  async file(token: string, name: string): Promise<string | undefined> {
    if (!TOKEN.test(token) || !FILE_NAME.test(name) || name === '.' || name === '..') return undefined;
    const path = join(this.folder(token), 'files', name);
    return (await stat(path).catch(() => undefined))?.isFile() ? path : undefined;
  }

  private folder(token: string): string {
    return join(this.outboxDir, 'shares', createHash('sha256').update(token).digest('hex'));
  }
}
