import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tenant } from '../events/tenant.js';
import { Outbox, SHARES_FOLDER, type OutboxLimits } from './outbox.js';

export type { OutboxLimits } from './outbox.js';

/** What a share link shows: who it is for, what it holds, until when. */
export interface ShareManifest {
  /** Random; the link's token is derived from it (`shareToken`). */
  readonly share_id: string;
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

/** A file to package: open for reading, with its size when it was opened. */
export interface ShareSource {
  readonly name: string;
  readonly handle: FileHandle;
  readonly bytes: number;
}

export type ShareInput = Omit<ShareManifest, 'share_id' | 'files'> & { readonly files: readonly ShareSource[] };

/** Where a token leads: `<outbox>/.share-links/<sha-256 of the token>.json` (no tenant can be named `.share-links`). */
interface ShareLink {
  readonly tenant: Tenant;
  readonly command_id: string;
  readonly expires_at: string;
}

const LINKS_FOLDER = '.share-links';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const FILE_NAME = /^[^/\\\0]{1,255}$/;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A share's token: HMAC-SHA256 of its id under the secret, base64url (43 characters). */
export const shareToken = (secret: string, shareId: string): string =>
  createHmac('sha256', secret).update(shareId).digest('base64url');

/**
 * Share packages, in the tenant's outbox folder and counted in its quota:
 * `<outbox>/<org>/<project>/shares/<sha-256 of the command id>/`, a manifest and copies of the
 * files. A link's token is derived from the share's random id and the secret, and recorded
 * nowhere; a small file named by the token's sha-256 leads from a token to its share.
 *
 * @example
 *   const shares = new ShareStore(outboxDir, { secret, limits });
 *   const manifest = await shares.create({ recipient, files, created_at, expires_at, tenant, command_id });
 *   const url = `${publicUrl}/shares/${shares.token(manifest.share_id)}`;
 */
export class ShareStore {
  private readonly outbox: Outbox;

  constructor(
    private readonly outboxDir: string,
    private readonly options: ShareStoreOptions,
  ) {
    this.outbox = new Outbox(outboxDir, options.limits);
  }

  token(shareId: string): string {
    return shareToken(this.options.secret, shareId);
  }

  /**
   * Packages `files` (first sweeping the tenant's outbox; `OutboxFullError` when they do not
   * fit). A command that runs again, after a crash, gets the share it made.
   */
  async create(input: ShareInput): Promise<ShareManifest> {
    const folder = this.folder(input.tenant, input.command_id);
    const made = await readJson<ShareManifest>(join(folder, 'manifest.json'));
    if (made) return made;
    const now = new Date(input.created_at);
    await this.outbox.makeRoom(
      input.tenant,
      now,
      input.files.reduce((sum, file) => sum + file.bytes, 0),
    );
    await rm(folder, { recursive: true, force: true });
    try {
      await mkdir(join(folder, 'files'), { recursive: true });
      const files = [];
      const taken = new Set<string>();
      for (const source of input.files) {
        let name = source.name;
        for (let n = 2; taken.has(name); n++) name = `${n}-${source.name}`;
        taken.add(name);
        files.push({ name, ...(await copy(source, join(folder, 'files', name))) });
      }
      const { files: _sources, ...about } = input;
      const manifest: ShareManifest = { share_id: `share-${randomBytes(16).toString('base64url')}`, ...about, files };
      await this.link(manifest, now);
      // The manifest last: a share exists once it has one.
      await writeAtomically(join(folder, 'manifest.json'), JSON.stringify(manifest, null, 2));
      return manifest;
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** The share behind a token: `undefined` when there is none (or it is gone). */
  async open(token: string): Promise<ShareManifest | undefined> {
    return (await this.locate(token))?.manifest;
  }

  /** The path of one file of a share, if it (still) has it. */
  async file(token: string, name: string): Promise<string | undefined> {
    const share = await this.locate(token);
    if (!share || !FILE_NAME.test(name) || name === '.' || name === '..') return undefined;
    const path = join(share.folder, 'files', name);
    return (await stat(path).catch(() => undefined))?.isFile() ? path : undefined;
  }

  /** The share a command of this tenant made, with its token. */
  async forCommand(tenant: Tenant, commandId: string): Promise<{ manifest: ShareManifest; token: string } | undefined> {
    const manifest = await readJson<ShareManifest>(join(this.folder(tenant, commandId), 'manifest.json'));
    return manifest && { manifest, token: this.token(manifest.share_id) };
  }

  private folder(tenant: Tenant, commandId: string): string {
    return join(this.outbox.folder(tenant), SHARES_FOLDER, sha256(commandId));
  }

  private async locate(token: string): Promise<{ manifest: ShareManifest; folder: string } | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const link = await readJson<ShareLink>(join(this.outboxDir, LINKS_FOLDER, `${sha256(token)}.json`));
    if (!link) return undefined;
    const folder = this.folder(link.tenant, link.command_id);
    const manifest = await readJson<ShareManifest>(join(folder, 'manifest.json'));
    // A link left by a crashed run leads to the share a later run made: only its own token opens it.
    if (!manifest || !timingSafeEqual(Buffer.from(token), Buffer.from(this.token(manifest.share_id)))) return undefined;
    return { manifest, folder };
  }

  /** Writes the token's way to the share, first deleting the ways of shares past their retention. */
  private async link(manifest: ShareManifest, now: Date): Promise<void> {
    const links = join(this.outboxDir, LINKS_FOLDER);
    await mkdir(links, { recursive: true });
    for (const name of await readdir(links)) {
      const old = await readJson<ShareLink>(join(links, name));
      if (old && Date.parse(old.expires_at) + this.options.limits.retentionMs <= now.getTime())
        await rm(join(links, name), { force: true });
    }
    const { tenant, command_id, expires_at } = manifest;
    await writeAtomically(
      join(links, `${sha256(this.token(manifest.share_id))}.json`),
      JSON.stringify({ tenant, command_id, expires_at } satisfies ShareLink),
    );
  }
}

/** Copies no more than the source measured when opened: the quota was checked on that. */
async function copy(source: ShareSource, path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const out = await open(path, 'wx');
  try {
    if (source.bytes > 0) {
      for await (const chunk of source.handle.createReadStream({ start: 0, end: source.bytes - 1, autoClose: false })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        await out.write(chunk as Buffer);
      }
    }
  } finally {
    await out.close();
  }
  return { bytes, sha256: hash.digest('hex') };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}
