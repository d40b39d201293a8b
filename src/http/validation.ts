import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from './app-env.js';
import { RequestError } from './errors.js';
import { header } from './header.js';
import { nestsDeeperThan } from '../shared/json-limits.js';

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\s*(;|$)/i;

const issues = (error: z.ZodError) => error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));

/** What a request body may be: its size in bytes and how deep its JSON nests (MAX_BODY_BYTES, MAX_JSON_DEPTH). */
export interface BodyLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
}

const tooLarge = (maxBytes: number) =>
  new RequestError(413, 'payload_too_large', `the body is larger than ${maxBytes} bytes`);

/**
 * The body as text, refused with 413 past `maxBytes`. Read from the Node request itself when
 * there is one: cheaper than materialising a WHATWG Request per call.
 */
async function readText(c: Context<AppEnv>, maxBytes: number): Promise<string> {
  const incoming = (c.env as AppEnv['Bindings'] | undefined)?.incoming;
  if (!incoming) {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > maxBytes) throw tooLarge(maxBytes);
    return text;
  }
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of incoming as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof RequestError) throw error;
    // The client left, or broke the framing, before its body arrived whole.
    throw new RequestError(400, 'incomplete_body', 'the body did not arrive whole');
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The request body as JSON, validated: 413 past `maxBytes`, 415 for another content type,
 * 400 when it is not JSON, 422 when it nests deeper than `maxDepth` or does not match `schema`
 * (with each issue in `details`).
 */
export async function readJson<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  { maxBytes, maxDepth }: BodyLimits,
): Promise<z.output<S>> {
  const type = header(c, 'content-type');
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new RequestError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  }
  const text = await readText(c, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = text.trim() === '' ? 'the body is empty' : (error as Error).message;
    throw new RequestError(400, 'invalid_json', `the body is not valid JSON: ${reason}`);
  }
  if (nestsDeeperThan(value, maxDepth)) {
    throw new RequestError(
      422,
      'too_deep',
      `the body nests objects and arrays deeper than ${maxDepth} levels (MAX_JSON_DEPTH)`,
    );
  }
  const result = schema.safeParse(value);
  if (!result.success)
    throw new RequestError(422, 'validation_failed', 'the body does not match the schema', issues(result.error));
  return result.data;
}

/** The query string, validated: 400 with each issue in `details`. */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success)
    throw new RequestError(400, 'invalid_query', 'the query string is not valid', issues(result.error));
  return result.data;
}

export { issues as zodIssues };
