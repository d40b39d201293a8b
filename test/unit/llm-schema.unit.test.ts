import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { llmExtract } from '../../src/catalog/commands/llm.js';
import {
  schemaLimitProblem,
  schemaValidators,
  SCHEMA_MAX_BYTES,
  SCHEMA_MAX_DEPTH,
} from '../../src/llm/json-schema-validator.js';

const nested = (levels: number): Record<string, unknown> => {
  let schema: Record<string, unknown> = { type: 'string' };
  for (let i = 1; i < levels; i++) schema = { type: 'array', items: schema };
  return schema;
};

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  return undefined;
};

describe('the schemas of llm.extract', () => {
  it('validate each against its own content, though they share an $id', () => {
    const schemas = schemaValidators();
    const $id = 'https://example.com/shared.json';
    const byName = schemas.of({ $id, type: 'object', required: ['name'] });
    const byCode = schemas.of({ $id, type: 'object', required: ['code'] });
    expect(byName.problemsOf({ name: 'Ada' })).toBeUndefined();
    expect(byName.problemsOf({ code: 7 })).toMatch(/name/);
    expect(byCode.problemsOf({ code: 7 })).toBeUndefined();
    expect(byCode.problemsOf({ name: 'Ada' })).toMatch(/code/);
  });

  it('lose $id and $schema at every depth, but not a property of that name nor data', () => {
    const { schema, problemsOf } = schemaValidators().of({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'https://example.com/root.json',
      type: 'object',
      properties: { $id: { $id: 'inner.json', type: 'string' }, kind: { const: { $id: 'kept' } } },
      definitions: { item: { $id: 'item.json', type: 'integer' } },
      items: [{ $id: 'first.json' }],
      required: ['$id'],
    });
    expect(schema).toEqual({
      type: 'object',
      properties: { $id: { type: 'string' }, kind: { const: { $id: 'kept' } } },
      definitions: { item: { type: 'integer' } },
      items: [{}],
      required: ['$id'],
    });
    expect(problemsOf({ $id: 'x', kind: { $id: 'kept' } })).toBeUndefined();
    expect(problemsOf({ kind: { $id: 'kept' } })).toMatch(/\$id/);
  });

  it('never fetch a remote $ref: a schema that needs one is INVALID_SCHEMA', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      response.end('{"type":"string"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote.json`;
      expect(refusal(() => schemaValidators().of({ type: 'object', properties: { a: { $ref: url } } }))).toMatchObject({
        code: 'INVALID_SCHEMA',
      });
      expect(requests).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('run patterns on RE2: lookarounds and backreferences do not compile, in pattern and patternProperties', () => {
    const schemas = schemaValidators();
    for (const pattern of ['(?=a)', '(?<!a)b', '(a)\\1']) {
      expect(refusal(() => schemas.of({ type: 'string', pattern }))).toMatchObject({ code: 'INVALID_SCHEMA' });
      expect(refusal(() => schemas.of({ type: 'object', patternProperties: { [pattern]: {} } }))).toMatchObject({
        code: 'INVALID_SCHEMA',
      });
    }
    expect(schemas.size).toBe(0);
    expect(
      schemas.of({ type: 'object', patternProperties: { '^x-': { type: 'integer' } } }).problemsOf({ 'x-a': 'one' }),
    ).toMatch(/integer/);
  });

  // A backtracking RegExp takes some 2^40 steps here and blocks the thread (the lookaround test above fails fast instead).
  it('answer a catastrophic-backtracking pattern in linear time', { timeout: 5000 }, () => {
    const { problemsOf } = schemaValidators().of({ type: 'string', pattern: '^(a+)+$' });
    expect(problemsOf(`${'a'.repeat(40)}b`)).toMatch(/must match pattern/);
    expect(problemsOf('a'.repeat(40))).toBeUndefined();
  });

  it('keep at most `capacity` compiled, dropping the least recently used', () => {
    const schemas = schemaValidators({ capacity: 2 });
    const [a, b, c] = [{ type: 'string' }, { type: 'integer' }, { type: 'boolean' }];
    const first = schemas.of(a).problemsOf;
    expect(schemas.of({ ...a }).problemsOf).toBe(first); // the same text: compiled once
    schemas.of(b);
    schemas.of(a); // a is now the most recently used
    schemas.of(c); // drops b
    expect(schemas.size).toBe(2);
    expect(schemas.of(a).problemsOf).toBe(first);
    const againB = schemas.of(b).problemsOf; // compiled anew, dropping c
    expect(schemas.of(b).problemsOf).toBe(againB);
    expect(schemas.size).toBe(2);
    for (let i = 0; i < 10; i++) schemas.of({ type: 'string', maxLength: i });
    expect(schemas.size).toBe(2);
  });

  it('refuse a schema nested too deep or too large, at the door and when compiling', () => {
    const large = { type: 'object', description: 'x'.repeat(SCHEMA_MAX_BYTES) };
    expect(schemaLimitProblem(nested(SCHEMA_MAX_DEPTH))).toBeUndefined();
    expect(schemaLimitProblem(nested(SCHEMA_MAX_DEPTH + 1))).toBe(
      `the schema is nested deeper than ${SCHEMA_MAX_DEPTH} levels`,
    );
    expect(schemaLimitProblem(large)).toBe(`the schema is larger than ${SCHEMA_MAX_BYTES} bytes of JSON`);
    for (const schema of [nested(SCHEMA_MAX_DEPTH + 1), large]) {
      expect(llmExtract.params.safeParse({ prompt: 'Who?', schema }).error?.issues).toEqual([
        expect.objectContaining({ path: ['schema'], message: schemaLimitProblem(schema) }),
      ]);
      expect(refusal(() => schemaValidators().of(schema))).toEqual({
        code: 'INVALID_SCHEMA',
        message: schemaLimitProblem(schema),
      });
    }
    expect(llmExtract.params.safeParse({ prompt: 'Who?', schema: nested(SCHEMA_MAX_DEPTH) }).success).toBe(true);
  });
});
