import { Ajv, type CodeOptions, type ValidateFunction } from 'ajv';
import RE2 from 're2';
import { TaskFailure } from '../catalog/define-command.js';
import { canonicalJson } from '../shared/ids.js';
import { nestsDeeperThan } from '../shared/json-limits.js';

/** The largest caller-given schema, in bytes of JSON. */
export const SCHEMA_MAX_BYTES = 64 * 1024;
/** The deepest nesting of objects and arrays in a caller-given schema, the schema itself being 1. */
export const SCHEMA_MAX_DEPTH = 32;

/**
 * Why a caller's JSON Schema is refused before anything compiles it (nested too deep, too
 * large), or `undefined`. Depth is checked first, so the size is never measured on a deep one.
 *
 * @example
 *   schemaLimitProblem({ type: 'string' }); // → undefined
 */
export function schemaLimitProblem(schema: unknown): string | undefined {
  if (nestsDeeperThan(schema, SCHEMA_MAX_DEPTH)) return `the schema is nested deeper than ${SCHEMA_MAX_DEPTH} levels`;
  if (Buffer.byteLength(JSON.stringify(schema)) > SCHEMA_MAX_BYTES)
    return `the schema is larger than ${SCHEMA_MAX_BYTES} bytes of JSON`;
  return undefined;
}

/** Keywords that would name the schema for other schemas, or pick a dialect: never kept. */
const DROPPED = new Set(['$id', '$schema']);
/** Keywords whose value is data, not schemas: left exactly as given. */
const DATA = new Set(['const', 'enum', 'default', 'examples']);
/** Keywords whose value maps names (not keywords) to schemas. */
const SCHEMA_MAPS = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
  'dependencies',
]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Throws INVALID_SCHEMA for a pattern RE2 cannot run, even where Ajv would skip it (an always-valid patternProperties). */
function checkPattern(pattern: unknown): void {
  if (typeof pattern !== 'string') return;
  try {
    new RE2(pattern, 'u');
  } catch (error) {
    throw new TaskFailure(
      'INVALID_SCHEMA',
      `the schema's pattern ${JSON.stringify(pattern)} cannot be used: ${(error as Error).message}`,
    );
  }
}

/** The schema without `$id` and `$schema` at any depth, its patterns checked. */
function prepare(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(prepare);
  if (!isObject(schema)) return schema;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (key === 'pattern') checkPattern(value);
    if (key === 'patternProperties' && isObject(value)) Object.keys(value).forEach(checkPattern);
    kept[key] = DATA.has(key)
      ? value
      : SCHEMA_MAPS.has(key) && isObject(value)
        ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, prepare(sub)]))
        : prepare(value);
  }
  return kept;
}

/** `pattern` and `patternProperties` run on RE2 (linear time); what RE2 cannot run (lookaround, backreferences) does not compile. */
const re2: NonNullable<CodeOptions['regExp']> = Object.assign(
  (pattern: string, flags: string) => new RE2(pattern, flags),
  { code: 'new RE2' },
);

/** What `value` fails of a schema, or `undefined` when it is valid. */
type Problems = (value: unknown) => string | undefined;

/** A caller's schema, compiled. */
export interface CheckedSchema {
  /** The schema as compiled, without `$id` and `$schema` at any depth: what the model is asked for. */
  readonly schema: Record<string, unknown>;
  readonly problemsOf: Problems;
}

function compile(schema: Record<string, unknown>): Problems {
  // One Ajv per schema: no schema can see, clash with or resolve a $ref into another.
  const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: re2 } });
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new TaskFailure('INVALID_SCHEMA', `the schema is not a valid JSON Schema: ${(error as Error).message}`);
  }
  return (value) => (validate(value) ? undefined : ajv.errorsText(validate.errors));
}

/**
 * Compiles callers' JSON Schemas for validating model answers, each in isolation (its own Ajv,
 * `$id`/`$schema` removed, RE2 for patterns, remote `$ref`s never fetched), within
 * SCHEMA_MAX_BYTES and SCHEMA_MAX_DEPTH; a refused schema throws `TaskFailure('INVALID_SCHEMA')`.
 * The last `capacity` schemas used stay compiled, keyed by their canonical JSON.
 *
 * @example
 *   const schemas = schemaValidators({ capacity: 200 });
 *   schemas.of({ type: 'string', pattern: '^[a-z]+$' }).problemsOf('Ada'); // → 'data must match pattern "^[a-z]+$"'
 */
export function schemaValidators({ capacity = 200 }: { capacity?: number } = {}) {
  const compiled = new Map<string, Problems>();
  return {
    of(schema: object): CheckedSchema {
      const problem = schemaLimitProblem(schema);
      if (problem !== undefined) throw new TaskFailure('INVALID_SCHEMA', problem);
      const prepared = prepare(schema) as Record<string, unknown>;
      const key = canonicalJson(prepared);
      let problemsOf = compiled.get(key);
      if (problemsOf) compiled.delete(key);
      else problemsOf = compile(prepared);
      compiled.set(key, problemsOf); // a Map iterates in insertion order: the first key is the least recently used
      if (compiled.size > capacity) compiled.delete(compiled.keys().next().value!);
      return { schema: prepared, problemsOf };
    },
    /** How many schemas are kept compiled. */
    get size(): number {
      return compiled.size;
    },
  };
}
