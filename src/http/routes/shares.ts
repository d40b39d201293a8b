import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { ShareStore } from '../../shares/share-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import type { RouteDoc } from '../openapi.js';

export interface ShareRoutesDeps {
  readonly shares: ShareStore;
  readonly now: () => Date;
}

export const shareDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/shares/{token}',
    summary: 'A share link (no key: the token is the credential)',
    description:
      'What an approved external_share.prepare packaged: recipient, message, files with their sizes and hashes. The tenant gets the link from GET /agent/shares/{command_id}. 410 once expired.',
    tags: ['shares'],
    tenant: false,
    responses: {
      200: { description: 'The share' },
      404: { description: 'No such share' },
      410: { description: 'Expired' },
    },
  },
  {
    method: 'get',
    path: '/shares/{token}/files/{name}',
    summary: 'One file of a share',
    tags: ['shares'],
    tenant: false,
    responses: {
      200: { description: 'The file', contentType: 'application/octet-stream' },
      404: { description: 'No such file' },
      410: { description: 'Expired' },
    },
  },
];

export function shareRoutes(deps: ShareRoutesDeps) {
  async function live(token: string) {
    const manifest = await deps.shares.open(token);
    if (!manifest) throw new RequestError(404, 'share_not_found', 'no such share');
    if (deps.now().getTime() >= Date.parse(manifest.expires_at))
      throw new RequestError(410, 'share_expired', `this share expired at ${manifest.expires_at}`);
    return manifest;
  }

  return new Hono<AppEnv>()
    .get('/:token', async (c) => {
      const token = c.req.param('token');
      const { recipient, message, files, created_at, expires_at } = await live(token);
      return c.json({
        recipient,
        ...(message === undefined ? {} : { message }),
        created_at,
        expires_at,
        files: files.map((file) => ({ ...file, url: `/shares/${token}/files/${encodeURIComponent(file.name)}` })),
      });
    })
    .get('/:token/files/:name', async (c) => {
      const token = c.req.param('token');
      await live(token);
      const path = await deps.shares.file(token, c.req.param('name'));
      if (!path) throw new RequestError(404, 'share_file_not_found', 'no such file in this share');
      return c.body(Readable.toWeb(createReadStream(path)) as ReadableStream, 200, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${encodeURIComponent(c.req.param('name'))}"`,
      });
    });
}
