import type { Context } from 'hono';
import type { z } from 'zod';
import { RequestError } from './errors.js';

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\s*(;|$)/i;

const issues = (error: z.ZodError) => error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));

/**
 * The request body as JSON, validated: 415 for another content type, 400 when it is not
 * JSON, 422 when it does not match `schema` (with each issue in `details`).
 */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header('content-type');
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new RequestError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  }
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = text.trim() === '' ? 'the body is empty' : (error as Error).message;
    throw new RequestError(400, 'invalid_json', `the body is not valid JSON: ${reason}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new RequestError(422, 'validation_failed', 'the body does not match the schema', issues(result.error));
  return result.data;
}

/** The query string, validated: 400 with each issue in `details`. */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw new RequestError(400, 'invalid_query', 'the query string is not valid', issues(result.error));
  return result.data;
}

export { issues as zodIssues };
