import { Hono } from 'hono';
import { z } from 'zod';
import type { ShareStore } from '../../shares/share-store.js';
import type { AppEnv } from '../app-env.js';
import { RequestError } from '../errors.js';
import { errorSchema, type RouteDoc } from '../openapi.js';

export interface ShareLinkDeps {
  readonly shares: ShareStore;
  readonly now: () => Date;
  /** How share links address NEXUS: NEXUS_PUBLIC_URL (no trailing `/`), or the address it listens on (never a request's Host header). */
  readonly publicUrl: () => string;
}

export const shareLinkSchema = z.object({
  share_url: z.string().meta({ description: 'The link to give the recipient: `/shares/{token}`, no key needed' }),
  expires_at: z.string(),
  recipient: z.string(),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int(), sha256: z.string() })),
});

export const shareLinkDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/agent/shares/{command_id}',
    summary: 'The link of the share an external_share.prepare command made',
    description:
      "The link is a credential, so it is in no report, export or audit record (they name the share by `share_id`): the tenant's keys get it here. 404 when that command made no share in this tenant, 410 once the share expired.",
    tags: ['shares'],
    tenant: true,
    responses: {
      200: { description: 'The link', schema: shareLinkSchema },
      404: { description: 'No share made by this command in this tenant', schema: errorSchema },
      410: { description: 'The share expired', schema: errorSchema },
    },
  },
];

/** The links of a tenant's shares, for its keys (mounted under `/agent`). */
export function shareLinkRoutes(deps: ShareLinkDeps) {
  return new Hono<AppEnv>().get('/shares/:command_id', async (c) => {
    const commandId = c.req.param('command_id');
    const share = await deps.shares.forCommand(c.get('tenant'), commandId);
    if (!share) throw new RequestError(404, 'share_not_found', `command ${commandId} made no share in this tenant`);
    const { recipient, expires_at, files } = share.manifest;
    if (deps.now().getTime() >= Date.parse(expires_at))
      throw new RequestError(410, 'share_expired', `this share expired at ${expires_at}`);
    c.header('cache-control', 'no-store');
    return c.json({ share_url: `${deps.publicUrl()}/shares/${share.token}`, expires_at, recipient, files });
  });
}
