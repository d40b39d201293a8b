/**
 * Whether a parsed JSON value nests objects and arrays deeper than `maxDepth` (a scalar is
 * depth 0, `{}` and `[]` depth 1). Iterative: a value too deep for the call stack is measured
 * as safely as any other, before anything recursive (JSON.stringify, a schema) touches it.
 *
 * @example
 *   nestsDeeperThan({ a: [1] }, 1); // true: depth 2
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') pending.push([child, depth + 1]);
    }
  }
  return false;
}
