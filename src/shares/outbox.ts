import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tenant } from '../events/tenant.js';

/** A tenant's share of the outbox: exports and share packages. */
export interface OutboxLimits {
  /** OUTBOX_MAX_BYTES_PER_TENANT */
  readonly maxBytesPerTenant: number;
  /** OUTBOX_RETENTION_HOURS, in ms: older exports (and expired shares) are deleted. */
  readonly retentionMs: number;
}

/** A write that would take a tenant's outbox past its quota. */
export class OutboxFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxFullError';
  }
}

/** The folder of a tenant's share packages, inside its outbox folder. */
export const SHARES_FOLDER = 'shares';

/**
 * The tenant folders of the outbox, `<outbox>/<org>/<project>/`: exports at the top, share
 * packages under `shares/`. Nothing runs on a timer: every write first sweeps its tenant's
 * folder (`makeRoom`) — exports older than the retention go; an expired share loses its files
 * at once and its manifest after the retention (so its link answers "expired" until then) —
 * then measures what is on disk, so concurrent writers and other processes are counted too.
 *
 * @example
 *   const outbox = new Outbox(outboxDir, { maxBytesPerTenant: 1 << 30, retentionMs: 168 * 3_600_000 });
 *   const folder = await outbox.makeRoom(tenant, new Date(), 0); // OutboxFullError when full
 *   // ... write into folder, then after each chunk:
 *   await outbox.assertFits(tenant);
 */
export class Outbox {
  constructor(
    readonly dir: string,
    readonly limits: OutboxLimits,
  ) {}

  folder(tenant: Tenant): string {
    return join(this.dir, tenant.org_id, tenant.project_id);
  }

  /** Sweeps the tenant's folder, then refuses if `bytes` more would not fit. Answers the folder. */
  async makeRoom(tenant: Tenant, now: Date, bytes: number): Promise<string> {
    const folder = this.folder(tenant);
    await mkdir(folder, { recursive: true });
    await this.sweep(folder, now.getTime());
    await this.assertFits(tenant, bytes);
    return folder;
  }

  /** Throws `OutboxFullError` when the tenant's folder, plus `more` bytes, is over the quota. */
  async assertFits(tenant: Tenant, more = 0): Promise<void> {
    const used = await bytesUnder(this.folder(tenant));
    const max = this.limits.maxBytesPerTenant;
    if (used + more > max) {
      throw new OutboxFullError(
        `the outbox of ${tenant.org_id}/${tenant.project_id} holds ${used} of its ${max} bytes; ${more > 0 ? `${more} more do not fit` : 'it is full'}`,
      );
    }
  }

  private async sweep(folder: string, now: number): Promise<void> {
    const old = (ms: number) => ms + this.limits.retentionMs <= now;
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const stat = await lstat(join(folder, entry.name)).catch(() => undefined);
      if (stat && old(stat.mtimeMs)) await rm(join(folder, entry.name), { force: true });
    }
    const shares = join(folder, SHARES_FOLDER);
    for (const name of await readdir(shares).catch(() => [])) {
      const share = join(shares, name);
      const expiresAt = await readExpiry(share);
      if (expiresAt === undefined) {
        // No manifest: a share being made, or one whose making crashed.
        const stat = await lstat(share).catch(() => undefined);
        if (stat && old(stat.mtimeMs)) await rm(share, { recursive: true, force: true });
      } else if (old(expiresAt)) await rm(share, { recursive: true, force: true });
      else if (expiresAt <= now) await rm(join(share, 'files'), { recursive: true, force: true });
    }
  }
}

async function readExpiry(share: string): Promise<number | undefined> {
  try {
    return Date.parse(
      (JSON.parse(await readFile(join(share, 'manifest.json'), 'utf8')) as { expires_at: string }).expires_at,
    );
  } catch {
    return undefined;
  }
}

/** The bytes of the files under `folder` (links not followed). */
async function bytesUnder(folder: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(folder, { recursive: true }).catch(() => [])) {
    const stat = await lstat(join(folder, name)).catch(() => undefined);
    if (stat?.isFile()) total += stat.size;
  }
  return total;
}
