import { z } from 'zod';
import { int, secret, variable, type Variable } from './variable.js';
import { parseRiskOverrides } from '../catalog/risk-policy.js';

/** Who may call NEXUS: keys, principals, dashboard sessions, risk overrides. */
export const accessVariables = {
  NEXUS_API_KEY: variable(
    'REQUIRED',
    secret,
    'Key clients send as x-api-key. Unset (and no ADMIN_API_KEY or principals): development mode (loopback only, keys not checked). The example value serves loopback only.',
    'dev-key-change-in-production',
    'secret',
  ),
  ADMIN_API_KEY: variable(
    'REQUIRED',
    secret,
    'Key for admin routes (x-api-key). Unset: admin routes only in development mode.',
    'admin-key-change-in-production',
    'secret',
  ),
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
  NEXUS_PRINCIPALS_FILE: variable(
    'OPTIONAL',
    z.string().min(1).optional(),
    'A JSON file with the same list as NEXUS_PRINCIPALS.',
  ),
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
} satisfies Record<string, Variable>;
