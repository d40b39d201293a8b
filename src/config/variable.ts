import { z } from 'zod';

/** A variable's section in `.env.example` and the README: REQUIRED for production, OPTIONAL worth knowing, ADVANCED rarely touched. */
export type Section = 'REQUIRED' | 'OPTIONAL' | 'ADVANCED';

export interface Variable<T extends z.ZodType = z.ZodType> {
  readonly section: Section;
  readonly schema: T;
  /** One line for `.env.example` and the README. */
  readonly help: string;
  /** The default as written in `.env.example`; empty when there is none. */
  readonly example: string;
  /** How a bad value is shown in an error: never a secret, never a URL's password. */
  readonly shown?: 'secret' | 'url';
}

export const variable = <T extends z.ZodType>(
  section: Section,
  schema: T,
  help: string,
  example = '',
  shown?: Variable['shown'],
): Variable<T> => ({
  section,
  schema,
  help,
  example,
  ...(shown === undefined ? {} : { shown }),
});

/** `true` or `false`, as a boolean. */
export const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((value) => value === 'true');
export const int = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A comma-separated list, blanks dropped. */
export const codeList = (text: string): string[] =>
  text
    .split(',')
    .map((code) => code.trim())
    .filter((code) => code !== '');
export const secret = z.string().min(8, 'must be at least 8 characters').optional();

/** A bad value as an error message may show it: secrets by their length only, URLs without their password. */
export function shownValue(raw: string | undefined, shown: Variable['shown']): string {
  if (raw === undefined || shown === undefined) return JSON.stringify(raw);
  if (shown === 'secret') return `a value of ${raw.length} characters`;
  try {
    const url = new URL(raw);
    if (url.password !== '') url.password = '***';
    return JSON.stringify(url.toString());
  } catch {
    return `a value of ${raw.length} characters that is not a URL`;
  }
}
