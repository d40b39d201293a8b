import { z } from 'zod';

export interface ResponseDoc {
  readonly description: string;
  readonly schema?: z.ZodType;
  readonly contentType?: string;
}

/**
 * How a route is described in `/openapi.json`. Routes build these from the very zod schemas
 * they validate with, so the document cannot drift from the code.
 */
export interface RouteDoc {
  readonly method: 'get' | 'post' | 'delete';
  /** OpenAPI style: `/approvals/{ask_id}/decide`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** Needs `x-api-key` (or a dashboard session) and the tenant headers. */
  readonly tenant: boolean;
  /** Needs a key (or a session) without naming a tenant. */
  readonly key?: boolean;
  readonly headers?: Readonly<Record<string, { schema: z.ZodType; description: string }>>;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

export const errorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ description: 'Every error: a stable code and a message for people.' });

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;

const tenantErrors: Record<number, ResponseDoc> = {
  400: { description: 'Malformed request: missing or invalid tenant headers, bad JSON or query', schema: errorSchema },
  401: { description: 'Missing or invalid x-api-key, or an expired session', schema: errorSchema },
  403: {
    description: 'The key lacks the role or the tenant, or a session cookie came without its x-csrf-token',
    schema: errorSchema,
  },
  429: { description: 'Rate limited for this tenant; see Retry-After', schema: errorSchema },
};

const TENANT_HEADER = 'With a session cookie the session names the tenant; a header naming another gets 403.';

function parameters(route: RouteDoc): unknown[] {
  const params: unknown[] = [];
  if (route.tenant) {
    params.push(
      {
        name: 'x-org-id',
        in: 'header',
        required: true,
        description: TENANT_HEADER,
        schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
      },
      {
        name: 'x-project-id',
        in: 'header',
        required: true,
        description: TENANT_HEADER,
        schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
      },
    );
    if (route.method !== 'get')
      params.push({
        name: 'x-csrf-token',
        in: 'header',
        required: false,
        description: 'With a session cookie: the csrf_token that GET /session answers',
        schema: { type: 'string' },
      });
  }
  for (const [name, header] of Object.entries(route.headers ?? {})) {
    params.push({
      name,
      in: 'header',
      required: false,
      description: header.description,
      schema: jsonSchema(header.schema, 'input'),
    });
  }
  for (const [name, schema] of Object.entries(route.query?.shape ?? {})) {
    const field = schema as z.ZodType;
    params.push({
      name,
      in: 'query',
      required: !field.safeParse(undefined).success,
      schema: jsonSchema(field, 'input'),
    });
  }
  for (const match of route.path.matchAll(/\{(\w+)\}/g))
    params.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
  return params;
}

function operation(route: RouteDoc): Record<string, unknown> {
  const responses = { ...(route.tenant ? tenantErrors : {}), ...route.responses };
  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    security: route.tenant || route.key ? [{ apiKey: [] }, { session: [] }] : [],
    parameters: parameters(route),
    ...(route.body
      ? {
          requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(responses).map(([status, response]) => [
        status,
        {
          description: response.description,
          ...(response.schema
            ? {
                content: {
                  [response.contentType ?? 'application/json']: { schema: jsonSchema(response.schema, 'output') },
                },
              }
            : response.contentType
              ? { content: { [response.contentType]: {} } }
              : {}),
        },
      ]),
    ),
  };
}

export function openApiDocument(
  routes: readonly RouteDoc[],
  info: { title: string; version: string; description: string },
) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info,
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'nexus_session',
          description:
            'A dashboard session from POST /session (`__Host-nexus_session` over HTTPS); changes also need x-csrf-token.',
        },
      },
    },
    paths,
  };
}

/** The methods documented for a concrete path (`/approvals/ask-1/decide`), upper-case. */
export function documentedMethods(routes: readonly RouteDoc[], path: string): string[] {
  const methods = routes
    .filter((route) => new RegExp(`^${route.path.replace(/\{\w+\}/g, '[^/]+')}$`).test(path))
    .map((route) => route.method.toUpperCase());
  return [...new Set(methods)];
}
